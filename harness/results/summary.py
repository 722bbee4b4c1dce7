"""``summary.json``: the typed summary of one run (built from the collected rows by
:mod:`harness.results.build`).

Every consumer (the text report, thresholds, compare, the HTML pages, JUnit, the CLI) reads a
:class:`Summary`, never a raw mapping: a malformed file fails once, at load, with a message that
names the file and the field. The JSON form (``docs/contracts.md``, "Results folder") is made
only by :meth:`Summary.to_json` and read only by :meth:`Summary.from_json`.

A run that did not finish says so: ``status`` is ``complete`` (the default, so that files
written before the field existed load as what they were), ``failed`` (a component did not
start, the run broke, or the agent or the backend died during it: ``failures``) or
``interrupted`` (Ctrl-C, SIGTERM or SIGHUP), with ``failure`` saying why; the counts and
percentiles are then over what was collected until then.

Schema versions: ``schema_version`` is :data:`SCHEMA_VERSION` in every file written now. Files
written before the field existed (version 1, harness runs of 2026-11) have the same fields as
version 2 and are read as they are. Version 3 added fields, each with a default that says what
an older run was: ``status`` (``complete``), ``failure``, ``faults``, ``failures``,
``crash_logs``, ``by_kind``, ``validity`` (``None``: not measured), ``agents`` (1),
``backend_view`` and ``simulation``; versions 1 and 2 are read with those defaults. A file from
a newer harness (a higher version) is refused with a message saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import ResultsError
from harness.results.validity import Validity

RunStatus = Literal["complete", "failed", "interrupted"]
"""How a run ended (see the module docstring)."""

SCHEMA_VERSION = 3
"""The version of ``summary.json`` this harness writes (see the module docstring)."""


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Latency(_Part):
    """Nearest-rank statistics of one latency in integer milliseconds (harness.results.stats)."""

    min: int
    p50: int
    p75: int
    p90: int
    p95: int
    p99: int
    max: int

    def stat(self, name: str) -> int:
        """The statistic called ``name`` (``min``, ``p50``, ... ``max``)."""
        value = getattr(self, name)
        assert isinstance(value, int), name
        return value


class Counts(_Part):
    """Every tracer of the fleet, counted exactly once by outcome."""

    success: int
    timeout: int
    error: int
    crashed: int
    unreachable: int = 0
    """Not settled, and its process, still running, stopped answering ``/metrics``."""

    @property
    def total(self) -> int:
        return self.success + self.timeout + self.error + self.crashed + self.unreachable


class Health(_Part):
    """Tracers counted by the state of the process or container hosting them at the end."""

    running: int
    exited: int
    restarting: int
    crashes: int


class Buckets(_Part):
    """The proposal's wait-mode buckets over total boot times."""

    under_10s: int
    cliff_28_32s: int
    over_32s: int


class BackendView(_Part):
    """The backend's side of a run: ``/configurations`` calls over time, the calls it refused
    for capacity (429), and how long the agents' refreshes took (queueing included)."""

    bin_s: float = 1.0
    calls_per_s: tuple[tuple[float, int, int], ...] = ()
    """``(seconds since the boot instant, calls, rejected)`` per bin of ``bin_s``; a call
    counts in the bin it arrived in."""
    calls: int = 0
    rejected: int = 0
    peak_calls_per_s: float = 0.0
    peak_at_s: float = 0.0
    refresh_ms: Latency | None = None
    """Every agent refresh (a ``/configurations`` call), from sending to its answer."""
    refresh_errors: int = 0
    """Refreshes answered with an error status (429 included)."""


class SimulationFacts(_Part):
    """How ``harness simulate`` ran a scenario (``runtime: simulate``)."""

    agents: int
    tracers_per_agent: int
    agent_boot: str
    boot_spread_s: float
    seed: int
    keep_polling: bool
    virtual_s: float
    wall_s: float


class KindFigures(_Part):
    """One kind of tracer of a mixed (or real) fleet: its count, outcomes and latencies."""

    tracers: int
    counts: Counts
    provider_ready_ms: Latency | None
    boot_total_ms: Latency | None


class FaultRecord(_Part):
    """One fault of the run (``harness.scenario.faults``): when it was planned and when it
    really happened, in seconds from the boot instant (real time, the harness's clock)."""

    kind: str
    at_s: float
    end_s: float | None = None
    """The planned end of a window, or None for a one-off action."""
    applied_at_s: float | None = None
    """When it took effect; None when the run ended before it."""
    ended_at_s: float | None = None
    """When it ended (a window, a restart); None when still on at the end of the run."""
    detail: str = ""


class ComponentFailure(_Part):
    """A backend or agent that died without the scenario asking for it."""

    component: str
    exit_code: int | None
    at_s: float
    """When the harness saw it dead, in seconds from the boot instant."""
    log_tail: str = ""


class Summary(_Part):
    """Everything ``summary.json`` holds about one run."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    scenario: str
    runtime: str
    tracers: int
    started_at: str
    boot_at: str
    duration_s: float
    provider_mode: Literal["event", "wait"]
    provider_ready_ms: Latency | None
    boot_total_ms: Latency | None
    counts: Counts
    success_ratio: float
    provider_error_events: int
    buckets: Buckets | None
    health: Health
    agent: dict[str, float]
    backend: dict[str, float]
    timeline: tuple[tuple[float, int], ...]
    warnings: tuple[str, ...] = ()
    faults: tuple[FaultRecord, ...] = ()
    """The scenario's faults, planned and applied (``harness.scenario.faults``)."""
    failures: tuple[ComponentFailure, ...] = ()
    """The backend or agent deaths the scenario did not ask for (the run is then ``failed``)."""
    agents: int = 1
    backend_view: BackendView | None = None
    simulation: SimulationFacts | None = None
    crash_logs: dict[str, str] = {}
    """Component → the last log lines of every tracer process that crashed (exited non-zero
    or was killed) before the end of collection."""
    by_kind: dict[str, KindFigures] = {}
    """Per kind of tracer (``stub``, ``ddtrace-py``, ``dd-trace-js``), in fleet order; empty
    for a fleet of stubs only (runs before mixed fleets included)."""
    status: RunStatus = "complete"
    failure: str | None = None
    """Why the run did not complete (``None`` when it did)."""

    @property
    def completed(self) -> bool:
        """Whether the run ran to its end (``status == "complete"``)."""
        return self.status == "complete"

    validity: Validity | None = None
    """The harness's own distortion (harness.results.validity); ``None`` in older files."""

    def failure_reason(self) -> str | None:
        """Why the agent or the backend died during the run, in one line (None when neither
        did; a run that failed otherwise raised instead of returning)."""
        return failures_line(self.failures)

    def latency(self, name: Literal["provider_ready", "boot_total"]) -> Latency | None:
        """``provider_ready_ms`` or ``boot_total_ms`` by their short name."""
        return self.provider_ready_ms if name == "provider_ready" else self.boot_total_ms

    def to_json(self) -> dict[str, Any]:
        """The JSON object written as ``summary.json``."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: object, source: str = "summary.json") -> Summary:
        """Validate a parsed ``summary.json``; a bad one raises :class:`ResultsError` naming
        ``source`` and every bad field."""
        if not isinstance(data, dict):
            raise ResultsError(f"{source}: expected a JSON object, got {type(data).__name__}")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ResultsError(f"{source}: schema_version {version!r} is not an integer")
        if version > SCHEMA_VERSION:
            raise ResultsError(
                f"{source} has schema version {version}, newer than this harness reads "
                f"({SCHEMA_VERSION}): update the harness to read it"
            )
        try:
            return cls.model_validate({**data, "schema_version": SCHEMA_VERSION})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ResultsError(
                f"{source} is not a summary written by harness run ({problems})"
            ) from exc


def failures_line(failures: Sequence[ComponentFailure]) -> str | None:
    """Unplanned component deaths in one line, or None."""
    if not failures:
        return None
    return "; ".join(
        f"{f.component} exited with code {f.exit_code} at {f.at_s:.1f} s after the boot "
        "without the scenario asking for it"
        for f in failures
    )
