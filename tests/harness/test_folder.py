"""A run's results folder is staged beside ``--out`` and renamed into place; an unfinished one
never looks finished (harness.results.folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ResultsError
from harness.results.folder import INCOMPLETE, StagedFolder, load_summary
from tests.harness.factories import make_summary


def write_summary(folder: Path, **changes: object) -> None:
    (folder / "summary.json").write_text(json.dumps(make_summary(**changes).to_json()))


def test_a_staged_folder_is_hidden_marked_and_renamed_into_place(tmp_path: Path) -> None:
    out = tmp_path / "run"
    staged = StagedFolder.begin(out, "r1")
    assert staged.path.name == ".run.partial-r1" and (staged.path / INCOMPLETE).is_file()
    assert not out.exists(), "nothing at --out until the run is done"
    write_summary(staged.path)
    assert staged.commit() == out
    assert not staged.path.exists() and not (out / INCOMPLETE).exists()
    assert load_summary(out).completed


def test_a_non_empty_out_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    with pytest.raises(ResultsError, match=r"not empty .* --force"):
        StagedFolder.begin(out, "r2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_empty_out_is_used_and_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    staged = StagedFolder.begin(tmp_path / "empty", "r3")
    write_summary(staged.path)
    assert (staged.commit() / "summary.json").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsError, match="is a file"):
        StagedFolder.begin(tmp_path / "file", "r4", force=True)


def test_force_keeps_the_old_results_until_the_new_ones_are_in_place(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    write_summary(out, run_id="old")
    (out / "scenario.yaml").write_text("old")
    staged = StagedFolder.begin(out, "r5", force=True)
    assert load_summary(out).run_id == "old", "untouched while the new run goes"
    write_summary(staged.path, run_id="new")
    staged.commit()
    assert load_summary(out).run_id == "new"
    assert not (out / "scenario.yaml").exists(), "nothing of the old run is left beside it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_folder_left_by_a_dead_harness_reads_as_interrupted(tmp_path: Path) -> None:
    staged = StagedFolder.begin(tmp_path / "run", "r6")
    with pytest.raises(ResultsError, match=r"never finished .* no summary\.json"):
        load_summary(staged.path)
    write_summary(staged.path)  # written, then the harness was killed while stopping things
    summary = load_summary(staged.path)
    assert summary.status == "interrupted" and "stopped before it finished" in str(summary.failure)


def test_a_summary_without_status_is_a_completed_run(tmp_path: Path) -> None:
    data = make_summary().to_json()
    del data["status"], data["failure"]
    (tmp_path / "summary.json").write_text(json.dumps(data))
    summary = load_summary(tmp_path)
    assert summary.status == "complete" and summary.failure is None and summary.completed
