"""Gathering the self-checks of a run (judged by :mod:`harness.results.validity`).

:class:`ValidityProbe` takes a snapshot when the fleet is released (:meth:`begin`: the agent's
and backend's ``/metrics``, the machine's CPU counters, the harness's own CPU), sees every
scrape of the tracer processes during collection (:meth:`on_scrape`), takes the second snapshot
at the end (:meth:`end`), and turns the differences into figures (:meth:`judge`):

- poll lateness: ``tracer_rc_poll_lateness_seconds``, every lane of every process;
- agent event-loop lag and lock wait: ``agent_rc_event_loop_lag_seconds`` and
  ``agent_rc_lock_wait_seconds`` over the collection window;
- CPU: ``*_process_cpu_seconds_total`` of every component over the window, the harness's own
  (``getrusage``) and the machine's (``/proc/stat``, every process on it);
- requests lost: RC requests the tracers counted (``tracer_rc_requests_total``, any outcome)
  beyond those the agent counted (``agent_rc_requests_total``): a lower bound of the requests
  that never reached it (every request the agent answered was counted there first);
- scrape failures: every failed ``/metrics`` scrape of the run;
- the release: its lead, late processes, and the start spread of the tracers.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import MetricsParseError
from harness.results.samples import TracerSample
from harness.results.validity import Cpu, Figure, ReleaseRecord, Validity, judge
from harness.run.promtext import Sample, parse
from harness.run.release import Release
from harness.runtime.base import ComponentHandle
from harness.scenario.model import Scenario
from rc_protocol.clock import Clock

INF = float("inf")
LOOP_LAG = "agent_rc_event_loop_lag_seconds"
LOCK_WAIT = "agent_rc_lock_wait_seconds"
AGENT_CPU = "agent_rc_process_cpu_seconds_total"
BACKEND_CPU = "backend_rc_process_cpu_seconds_total"
STUB_CPU = "tracer_process_cpu_seconds_total"


@dataclass(frozen=True)
class CpuTimes:
    """The machine's CPU counters: busy and total seconds summed over its cores."""

    busy_s: float
    total_s: float
    cores: int


MachineProbe = Callable[[], CpuTimes | None]
"""Reads the machine's CPU counters (``None`` when it cannot)."""


def read_proc_stat(path: Path = Path("/proc/stat")) -> CpuTimes | None:
    """The machine's CPU counters from ``/proc/stat`` (Linux; ``None`` elsewhere).

    Busy is user + nice + system + irq + softirq + steal; idle and iowait are not busy.
    """
    try:
        lines = path.read_text().splitlines()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    for line in lines:
        if line.startswith("cpu "):
            fields = [int(x) for x in line.split()[1:9]]
            user, nice, system, idle, iowait, irq, softirq, steal = fields
            busy = user + nice + system + irq + softirq + steal
            return CpuTimes(busy / ticks, (busy + idle + iowait) / ticks, cores)
    return None


def machine_probe_for(runtime: str) -> MachineProbe | None:
    """The machine probe of a runtime whose components run on this machine (local processes,
    containers of the local engine); ``None`` for any other (in memory, remote workers)."""
    return read_proc_stat if runtime in ("local", "docker") else None


def histogram(samples: Iterable[Sample], name: str) -> dict[float, float]:
    """``name``'s cumulative buckets summed over every series: ``{le: count}``."""
    out: dict[float, float] = {}
    for s in samples:
        if s.name == name + "_bucket" and "le" in s.labels:
            le = INF if s.labels["le"] == "+Inf" else float(s.labels["le"])
            out[le] = out.get(le, 0.0) + s.value
    return out


def minus(after: Mapping[float, float], before: Mapping[float, float]) -> dict[float, float]:
    """Bucket counts added between two scrapes."""
    return {le: count - before.get(le, 0.0) for le, count in after.items()}


def quantile_ms(buckets: Mapping[float, float], q: float) -> Figure:
    """The upper bound (ms) of the bucket holding quantile ``q``; ``Figure(None)`` if empty.

    >>> quantile_ms({0.001: 90.0, 0.01: 99.0, float("inf"): 100.0}, 0.99)
    Figure(value=10.0, above=False)
    >>> quantile_ms({0.001: 1.0, 5.0: 1.0, float("inf"): 100.0}, 0.5)
    Figure(value=5000.0, above=True)
    """
    total = buckets.get(INF, 0.0)
    if total <= 0:
        return Figure(None)
    finite = sorted(le for le in buckets if le != INF)
    for le in finite:
        if buckets[le] >= q * total:
            return Figure(round(le * 1000.0, 3))
    return Figure(round(finite[-1] * 1000.0, 3) if finite else None, above=True)


def total(samples: Iterable[Sample], name: str) -> float | None:
    """The sum of every series called ``name`` (``None``: none)."""
    values = [s.value for s in samples if s.name == name]
    return sum(values) if values else None


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else max(0.0, after - before)


def start_spread_ms(rows: Sequence[TracerSample], intended_s: Callable[[int], float]) -> int | None:
    """Latest minus earliest tracer start, each less its intended offset (``intended_s`` of
    its index: a ramp's stagger, replayed start offsets).

    >>> rows = [TracerSample(i, "p", start_wall=100.0 + i * 0.5 + d) for i, d in enumerate((0,
    ...     0.003, 0.001))]
    >>> start_spread_ms(rows, lambda i: i * 0.5)
    3
    """
    starts = [r.start_wall - intended_s(r.tracer) for r in rows if r.start_wall is not None]
    return round((max(starts) - min(starts)) * 1000.0) if starts else None


def intended_offsets(scenario: Scenario) -> Callable[[int], float]:
    """Seconds after the fleet's instant at which tracer ``i`` is meant to start."""
    fleet = scenario.fleet
    if fleet.start_offsets_ms:
        offsets = fleet.start_offsets_ms
        return lambda i: offsets[i] / 1000.0 if i < len(offsets) else 0.0
    stagger_s = fleet.ramp_s / fleet.tracers if fleet.boot == "ramp" else 0.0
    return lambda i: i * stagger_s


async def _scrape(
    client: httpx.AsyncClient, handle: ComponentHandle, timeout_s: float
) -> list[Sample] | None:
    try:
        response = await client.get(handle.host_url + "/metrics", timeout=timeout_s)
        response.raise_for_status()
        return parse(response.text)
    except (httpx.HTTPError, MetricsParseError):
        return None


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class _Snapshot:
    wall: float
    harness_cpu_s: float
    machine: CpuTimes | None
    agent: list[Sample] | None
    backend: list[Sample] | None


@dataclass
class ValidityProbe:
    """See the module docstring."""

    clock: Clock
    machine: MachineProbe | None = None
    scrape_timeout_s: float = 10.0
    """The snapshots are taken outside collection, when a busy agent may be slow to answer."""
    scrape_failures: int = 0
    first: dict[str, list[Sample]] = field(default_factory=dict)
    last: dict[str, list[Sample]] = field(default_factory=dict)
    _begin: _Snapshot | None = None
    _end: _Snapshot | None = None

    async def _snapshot(
        self, client: httpx.AsyncClient, agent: ComponentHandle, backend: ComponentHandle
    ) -> _Snapshot:
        agent_samples = await _scrape(client, agent, self.scrape_timeout_s)
        backend_samples = await _scrape(client, backend, self.scrape_timeout_s)
        self.scrape_failures += (agent_samples is None) + (backend_samples is None)
        machine = self.machine() if self.machine is not None else None
        wall = self.clock.time()
        return _Snapshot(wall, _cpu_seconds(), machine, agent_samples, backend_samples)

    async def begin(
        self, client: httpx.AsyncClient, agent: ComponentHandle, backend: ComponentHandle
    ) -> None:
        """The snapshot at the release."""
        self._begin = await self._snapshot(client, agent, backend)

    def on_scrape(self, component: str, samples: list[Sample] | None) -> None:
        """One scrape of a tracer process (``None``: it failed)."""
        if samples is None:
            self.scrape_failures += 1
            return
        self.first.setdefault(component, samples)
        self.last[component] = samples

    def scrape_failed(self) -> None:
        """A scrape made elsewhere (the end-of-run counters) failed."""
        self.scrape_failures += 1

    async def end(
        self, client: httpx.AsyncClient, agent: ComponentHandle, backend: ComponentHandle
    ) -> None:
        """The snapshot at the end of collection."""
        self._end = await self._snapshot(client, agent, backend)

    def judge(
        self,
        scenario: Scenario,
        release: Release,
        rows: Sequence[TracerSample],
    ) -> Validity:
        """The run's figures against the scenario's limits."""
        begin, end = self._begin, self._end
        assert begin is not None and end is not None, "begin() and end() first"
        window = max(1e-9, end.wall - begin.wall)
        figures: dict[str, Figure] = {}
        tracers_last = [s for samples in self.last.values() for s in samples]
        figures["poll_lateness_p99_ms"] = quantile_ms(
            histogram(tracers_last, "tracer_rc_poll_lateness_seconds"), 0.99
        )
        a0, a1 = begin.agent or [], end.agent or []
        if end.agent is not None:
            lag = minus(histogram(a1, LOOP_LAG), histogram(a0, LOOP_LAG))
            figures["agent_loop_lag_p99_ms"] = quantile_ms(lag, 0.99)
            wait = minus(histogram(a1, LOCK_WAIT), histogram(a0, LOCK_WAIT))
            figures["agent_lock_wait_p99_ms"] = quantile_ms(wait, 0.99)
        agent_cpu = _delta(total(a1, AGENT_CPU), total(a0, AGENT_CPU))
        if agent_cpu is not None:
            figures["agent_cpu_ratio"] = Figure(round(agent_cpu / window, 3))
        machine_busy = None
        if begin.machine is not None and end.machine is not None:
            machine_busy = max(0.0, end.machine.busy_s - begin.machine.busy_s)
            all_s = end.machine.total_s - begin.machine.total_s
            if all_s > 0:
                figures["machine_cpu_ratio"] = Figure(round(machine_busy / all_s, 3))
        sent = total(tracers_last, "tracer_rc_requests_total")
        received = total(a1, "agent_rc_requests_total") if end.agent is not None else None
        if sent is not None and received is not None:
            figures["requests_lost"] = Figure(max(0.0, sent - received))
        figures["scrape_failures"] = Figure(float(self.scrape_failures))
        spread = (  # as_started: each tracer starts when its process is up, spread by design
            None
            if scenario.fleet.boot == "as_started"
            else start_spread_ms(rows, intended_offsets(scenario))
        )
        if spread is not None:
            figures["release_spread_ms"] = Figure(float(spread))
        backend_cpu = _delta(total(end.backend or [], BACKEND_CPU),
                             total(begin.backend or [], BACKEND_CPU))  # fmt: skip
        cpu = Cpu(
            window_s=round(window, 3),
            agent_s=_round(agent_cpu),
            backend_s=_round(backend_cpu),
            tracers_s=_round(self._tracers_cpu()),
            harness_s=round(end.harness_cpu_s - begin.harness_cpu_s, 2),
            cores=None if end.machine is None else end.machine.cores,
            machine_busy_s=_round(machine_busy),
        )
        record = ReleaseRecord(
            signalled=release.signalled,
            lead_ms=round(release.lead_s * 1000),
            processes=release.processes,
            late_processes=release.late_processes,
            max_late_ms=round(release.max_late_s * 1000),
            start_spread_ms=spread,
        )
        # serve_cost_ms > 0 models a slower agent on purpose: its lock wait is the design's.
        off = {"agent_lock_wait_p99_ms"} if scenario.agent.serve_cost_ms else set()
        return judge(figures, scenario.validity, cpu=cpu, release=record, off=frozenset(off))

    def _tracers_cpu(self) -> float | None:
        deltas = [_delta(total(self.last[c], STUB_CPU), total(self.first[c], STUB_CPU))
                  for c in self.last]  # fmt: skip
        known = [d for d in deltas if d is not None]
        return sum(known) if known else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
