"""The files of a results folder: ``samples.csv``, ``summary.json`` and ``report.txt``.

``report.html`` is written by the layer above (:mod:`harness.report.html`), which reads this
one; ``scenario.yaml`` and ``logs/`` by the runner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from harness.errors import ResultsError
from harness.results.samples import TracerSample, write_samples
from harness.results.summary import Summary

SUMMARY_JSON = "summary.json"
SAMPLES_CSV = "samples.csv"
REPORT_TXT = "report.txt"


def write_results(out_dir: Path, summary: Summary, rows: Sequence[TracerSample], text: str) -> None:
    """Write ``samples.csv``, ``summary.json`` and ``report.txt`` into ``out_dir``."""
    write_samples(out_dir / SAMPLES_CSV, rows)
    (out_dir / SUMMARY_JSON).write_text(
        json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / REPORT_TXT).write_text(text, encoding="utf-8")


def load_summary(out_dir: Path) -> Summary:
    """The ``summary.json`` of a results folder, validated."""
    path = out_dir / SUMMARY_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ResultsError(
            f"{path} not found: is {out_dir} a results folder of harness run?"
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    return Summary.from_json(data, str(path))


def read_report_text(out_dir: Path) -> str:
    """``report.txt`` of a results folder, or "" when it cannot be read."""
    try:
        return (out_dir / REPORT_TXT).read_text(encoding="utf-8")
    except OSError:
        return ""
