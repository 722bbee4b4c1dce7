"""The committed dashboards are what ``dashboards/build.py`` makes from their Python."""

from __future__ import annotations

import difflib
import doctest
from pathlib import Path

import pytest

import dashboards.promql
from dashboards import build
from harness.review.dashboards import DASHBOARDS_DIR, dashboard_paths


def test_committed_dashboards_are_the_generated_ones() -> None:
    for name, text in build.rendered().items():
        path = DASHBOARDS_DIR / name
        committed = path.read_text(encoding="utf-8") if path.is_file() else ""
        if committed != text:
            diff = difflib.unified_diff(
                committed.splitlines(), text.splitlines(), "committed", "generated", lineterm=""
            )
            excerpt = "\n".join(list(diff)[:40])
            pytest.fail(
                f"{path} is not what dashboards/build.py makes from dashboards/*.py: "
                f"run `just dashboards` and commit the file.\n{excerpt}",
                pytrace=False,
            )


def test_every_dashboard_is_generated() -> None:
    assert build.DASHBOARDS_DIR == DASHBOARDS_DIR
    assert sorted(build.DASHBOARDS) == [p.name for p in dashboard_paths()]


def test_output_is_stable_and_ends_with_a_newline() -> None:
    first, second = build.rendered(), build.rendered()
    assert first == second
    assert all(text.endswith("}\n") for text in first.values())


def test_check_reports_a_stale_file_and_writing_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build.main(["--check", "--out", str(tmp_path)]) == 1
    assert "run `just dashboards`" in capsys.readouterr().out
    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.main(["--check", "--out", str(tmp_path)]) == 0
    written = tmp_path / "rc-fleet-boot.json"
    written.write_text(written.read_text() + " ")
    assert build.main(["--check", "--out", str(tmp_path)]) == 1
    assert f"{written} is not what" in capsys.readouterr().out


def test_promql_doctests() -> None:
    result = doctest.testmod(dashboards.promql)
    assert result.attempted > 0 and result.failed == 0
