"""The files of a results folder (``samples.csv``, ``summary.json``, ``report.txt``) and how a
run's folder comes to be: atomically.

A run writes into a staging folder beside its ``--out`` (:class:`StagedFolder`:
``.<name>.partial-<run id>``, holding an ``INCOMPLETE`` marker), and renames it to ``--out``
only once everything it collected is written, whether it completed, failed or was interrupted
(``summary.json``'s ``status`` says which). A harness that dies (SIGKILL, the OOM killer)
leaves only the staging folder: nothing at ``--out`` looks finished, and ``harness report``
on the staging folder says the run never finished. A non-empty ``--out`` is refused before
anything starts unless the run may replace it (``--force``); the old folder is then removed
only when the new one is in place.

``report.html`` is written by the layer above (:mod:`harness.report.html`), which reads this
one; ``scenario.yaml`` and ``logs/`` by the runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from harness.errors import ResultsError
from harness.results.samples import TracerSample, write_samples
from harness.results.summary import Summary

SUMMARY_JSON = "summary.json"
SAMPLES_CSV = "samples.csv"
REPORT_TXT = "report.txt"
INCOMPLETE = "INCOMPLETE"
"""The marker file of a staging folder: the run writing it has not finished."""
NEVER_FINISHED = (
    "the harness stopped before it finished this results folder (it was killed, or the "
    "machine stopped): what it holds is partial"
)


def refuse_non_empty(out: Path, *, force: bool) -> None:
    """Raise :class:`ResultsError` when ``out`` is a file, or a non-empty folder and not
    ``force``: results are never mixed with an earlier run's."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ResultsError(f"--out {out} is a file: choose a folder")
    if not force and any(out.iterdir()):
        raise ResultsError(
            f"--out {out} is not empty (an earlier run's results?): choose another folder, "
            "or add --force to replace it"
        )


class StagedFolder:
    """A results folder under construction (see the module docstring)."""

    def __init__(self, final: Path, path: Path, run_id: str) -> None:
        self.run_id = run_id
        self.final = final
        """Where the folder goes when it is done (``--out``)."""
        self.path = path
        """Where it is written meanwhile."""

    @classmethod
    def begin(cls, out: Path, run_id: str, *, force: bool = False) -> StagedFolder:
        """Make the staging folder of ``out``; a non-empty ``out`` is refused unless ``force``."""
        refuse_non_empty(out, force=force)
        path = out.parent / f".{out.name}.partial-{run_id}"
        try:
            path.mkdir(parents=True)
            (path / INCOMPLETE).write_text(
                f"harness run {run_id} is writing this folder; it becomes {out} when done. "
                f"If the run is gone, {NEVER_FINISHED}.\n",
                encoding="utf-8",
            )
        except OSError as exc:
            raise ResultsError(f"cannot make the results folder beside {out}: {exc}") from exc
        return cls(out, path, run_id)

    def commit(self) -> Path:
        """Put the folder in place at :attr:`final` (replacing what was there) and return it."""
        final = self.final
        try:
            (self.path / INCOMPLETE).unlink(missing_ok=True)
            old: Path | None = None
            if final.is_dir() and any(final.iterdir()):
                old = final.parent / f".{final.name}.replaced-{self.run_id}"
                final.rename(old)
            elif final.is_dir():
                final.rmdir()
            elif final.exists():
                final.unlink()
            os.replace(self.path, final)
        except OSError as exc:
            raise ResultsError(
                f"cannot move the results from {self.path} to {final}: {exc}; they are "
                f"complete in {self.path}"
            ) from exc
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def discard(self) -> None:
        """Remove the staging folder (nothing worth keeping was written)."""
        with contextlib.suppress(OSError):
            shutil.rmtree(self.path)


def write_results(out_dir: Path, summary: Summary, rows: Sequence[TracerSample], text: str) -> None:
    """Write ``samples.csv``, ``summary.json`` and ``report.txt`` into ``out_dir``."""
    write_samples(out_dir / SAMPLES_CSV, rows)
    (out_dir / SUMMARY_JSON).write_text(
        json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / REPORT_TXT).write_text(text, encoding="utf-8")


def load_summary(out_dir: Path) -> Summary:
    """The ``summary.json`` of a results folder, validated. In a staging folder (an
    ``INCOMPLETE`` marker: its run never finished) the summary is read as ``interrupted``."""
    path = out_dir / SUMMARY_JSON
    unfinished = (out_dir / INCOMPLETE).exists()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        if unfinished:
            raise ResultsError(
                f"{out_dir} is the folder of a run that never finished and it has no "
                f"{SUMMARY_JSON}: {NEVER_FINISHED}; see its logs/"
            ) from exc
        raise ResultsError(
            f"{path} not found: is {out_dir} a results folder of harness run?"
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    summary = Summary.from_json(data, str(path))
    if unfinished:
        summary = summary.model_copy(update={"status": "interrupted", "failure": NEVER_FINISHED})
    return summary


def read_report_text(out_dir: Path) -> str:
    """``report.txt`` of a results folder, or "" when it cannot be read."""
    try:
        return (out_dir / REPORT_TXT).read_text(encoding="utf-8")
    except OSError:
        return ""
