"""One row per tracer: its outcome and measurements (``samples.csv``).

The outcome of a tracer is one of :data:`OUTCOMES`. While a run is collected a tracer may still
be ``pending``; the final rows never are (a tracer still pending when collection ends is a
``timeout``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from harness.errors import ResultsError

PENDING = "pending"
READY = "ready"
TIMEOUT = "timeout"
ERROR = "error"
CRASHED = "crashed"

OUTCOMES = (READY, TIMEOUT, ERROR, CRASHED)
"""The final outcomes; every tracer of a run ends with exactly one."""


@dataclass(frozen=True)
class TracerSample:
    """What the harness knows about one tracer (one row of ``samples.csv``)."""

    tracer: int
    component: str
    outcome: str = PENDING
    start_ms: int | None = None
    provider_ready_ms: int | None = None
    first_evaluation_ms: int | None = None
    boot_total_ms: int | None = None
    provider_error_events: int = 0
    start_wall: float | None = None
    kind: str = "stub"
    """``stub``, or the real tracer (``ddtrace-py``, ``dd-trace-js``) the row measured."""


SAMPLE_COLUMNS = [f.name for f in fields(TracerSample)]
"""The columns of ``samples.csv``, one row per tracer."""

_INT_COLUMNS = ("start_ms", "provider_ready_ms", "first_evaluation_ms", "boot_total_ms")


def write_samples(path: Path, rows: Iterable[TracerSample]) -> None:
    """Write ``samples.csv`` (an empty cell for a missing value)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=SAMPLE_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})


def read_samples(path: Path) -> list[TracerSample]:
    """The rows of a ``samples.csv``; an empty list when the file does not exist."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            raw = list(csv.DictReader(fh))
    except FileNotFoundError:
        return []
    except (OSError, csv.Error) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    try:
        return [_row(r) for r in raw]
    except (KeyError, ValueError) as exc:
        raise ResultsError(f"{path}: not a samples.csv written by harness run ({exc})") from exc


def _row(raw: dict[str, str]) -> TracerSample:
    values: dict[str, Any] = {
        "tracer": int(raw["tracer"]),
        "component": raw["component"],
        "outcome": raw["outcome"],
        "provider_error_events": int(raw.get("provider_error_events") or 0),
        "start_wall": _finite(raw.get("start_wall")),
        "kind": raw.get("kind") or "stub",  # files of runs before mixed fleets: all stubs
    }
    for column in _INT_COLUMNS:
        number = _finite(raw.get(column))
        values[column] = None if number is None else round(number)
    return TracerSample(**values)


def _finite(text: str | None) -> float | None:
    if text in (None, ""):
        return None
    value = float(str(text))
    return value if math.isfinite(value) else None


def ready_times_ms(rows: Sequence[TracerSample]) -> list[int]:
    """Provider-ready times of the tracers that became ready, sorted."""
    return sorted(
        r.provider_ready_ms for r in rows if r.outcome == READY and r.provider_ready_ms is not None
    )
