"""Collection: scrape every tracer process until every tracer is settled, and account for each.

The :class:`Ledger` is pure bookkeeping (tested with canned metrics text): it knows which tracer
indexes each component hosts, keeps the last scraped values of every tracer, and at the end
counts every tracer exactly once as ``success`` (ready), ``timeout`` (still pending when the run
ended, or timed out), ``error`` or ``crashed`` (its process died before it settled; its last
scraped values are kept). :func:`scrape_until_settled` drives it over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import httpx

from harness.errors import MetricsParseError
from harness.results.samples import CRASHED, ERROR, PENDING, READY, TIMEOUT, TracerSample
from harness.results.summary import Counts
from harness.run.events import Tick
from harness.run.promtext import Sample, flatten, parse
from harness.runtime.base import ComponentHandle, ComponentState, ComponentStatus
from rc_protocol.clock import Clock

_MS_GAUGES = {
    "tracer_start_seconds": "start_ms",
    "tracer_provider_ready_seconds": "provider_ready_ms",
    "tracer_first_evaluation_seconds": "first_evaluation_ms",
    "tracer_boot_total_seconds": "boot_total_ms",
}


def tracer_values(samples: Iterable[Sample]) -> dict[int, dict[str, object]]:
    """Per tracer index, the fields found in one scrape of a stub's ``/metrics`` (pure)."""
    out: dict[int, dict[str, object]] = {}
    for s in samples:
        raw_index = s.labels.get("tracer")
        if raw_index is None or not raw_index.isdigit():
            continue
        row = out.setdefault(int(raw_index), {})
        if s.name == "tracer_outcome":
            if s.value >= 1.0:
                row["outcome"] = s.labels.get("outcome", PENDING)
        elif s.name in _MS_GAUGES:
            row[_MS_GAUGES[s.name]] = round(s.value * 1000.0)
        elif s.name == "tracer_start_wall_seconds":
            row["start_wall"] = s.value
        elif s.name == "tracer_provider_error_events_total":
            row["provider_error_events"] = int(s.value)
    return out


@dataclass
class Ledger:
    """Every tracer of the fleet, each counted exactly once.

    ``hosts`` maps component name → the tracer indexes it hosts. A tracer is settled when it is
    ready and its first evaluation is recorded, when it reports an error, or when its process
    died (crashed). A ``timeout`` reported by the stub (its provider's init timeout) is not
    final: the provider stays registered and may turn ready later (dd-trace-go
    ``openfeature/provider.go``; the proposal's wait-mode samples over 32 s), so collection
    goes on until ``timeouts.run_s``, and a tracer still not ready then counts as a timeout.
    """

    hosts: Mapping[str, Sequence[int]]
    kinds: Mapping[str, str] = field(default_factory=dict)
    """Component name → the kind of tracer it hosts (``stub`` when absent)."""
    tracers: dict[int, TracerSample] = field(default_factory=dict)
    unexpected: set[tuple[str, int]] = field(default_factory=set)
    dead: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for component, indexes in self.hosts.items():
            for index in indexes:
                if index in self.tracers:
                    raise ValueError(f"tracer {index} hosted twice ({component})")
                kind = self.kinds.get(component, "stub")
                self.tracers[index] = TracerSample(index, component, kind=kind)

    @property
    def fleet(self) -> int:
        return len(self.tracers)

    @staticmethod
    def settled(sample: TracerSample) -> bool:
        if sample.outcome == READY:
            return sample.boot_total_ms is not None
        return sample.outcome in (CRASHED, ERROR)

    def all_settled(self) -> bool:
        return all(self.settled(t) for t in self.tracers.values())

    def update(self, component: str, samples: Iterable[Sample]) -> None:
        """Record one scrape of ``component``; values of tracers it does not host are ignored."""
        if component in self.dead:
            return
        for index, values in tracer_values(samples).items():
            current = self.tracers.get(index)
            if current is None or current.component != component:
                self.unexpected.add((component, index))
                continue
            self.tracers[index] = replace(current, **values)  # type: ignore[arg-type]

    def process_state(self, component: str, state: ComponentState) -> None:
        """Mark the unsettled tracers of a process that exited (or is restarting, which loses
        its tracers' state) as crashed."""
        alive = (ComponentStatus.RUNNING, ComponentStatus.CREATED)
        if state.status in alive or component in self.dead:
            return
        self.dead.add(component)
        for index in self.hosts.get(component, ()):
            sample = self.tracers[index]
            if not self.settled(sample):
                self.tracers[index] = replace(sample, outcome=CRASHED)

    def counts(self) -> Counts:
        """``success/timeout/error/crashed``; a tracer still pending counts as a timeout."""
        out = {"success": 0, "timeout": 0, "error": 0, "crashed": 0}
        for t in self.tracers.values():
            key = {READY: "success", ERROR: "error", CRASHED: "crashed"}.get(t.outcome, "timeout")
            out[key] += 1
        counts = Counts(**out)
        assert counts.total == self.fleet, "every tracer is counted exactly once"
        return counts

    def ready_count(self) -> int:
        return sum(1 for t in self.tracers.values() if t.outcome == READY)

    def final(self) -> list[TracerSample]:
        """Rows in tracer order, with pending tracers turned into timeouts."""
        rows = []
        for index in sorted(self.tracers):
            t = self.tracers[index]
            rows.append(
                t if t.outcome in (READY, ERROR, CRASHED, TIMEOUT) else replace(t, outcome=TIMEOUT)
            )
        return rows


async def scrape(client: httpx.AsyncClient, handle: ComponentHandle) -> list[Sample] | None:
    """One scrape of ``handle``'s ``/metrics``; ``None`` when it cannot be had."""
    try:
        response = await client.get(handle.host_url + "/metrics")
        response.raise_for_status()
        return parse(response.text)
    except (httpx.HTTPError, MetricsParseError):
        return None


async def scrape_until_settled(
    ledger: Ledger,
    handles: Sequence[ComponentHandle],
    client: httpx.AsyncClient,
    clock: Clock,
    *,
    t0_wall: float,
    deadline_wall: float,
    interval_s: float = 0.5,
    on_tick: Callable[[Tick], None] | None = None,
) -> list[tuple[float, int]]:
    """From the boot instant ``t0_wall``, scrape every tracer process concurrently every
    ``interval_s`` until every tracer is settled or ``deadline_wall`` passes; return the
    timeline ``[(s since t0, ready), ...]``. Times are ``clock``'s wall time."""
    timeline: list[tuple[float, int]] = []
    await clock.sleep(max(0.0, t0_wall - clock.time()))  # nothing to see before the boot
    while True:
        started = clock.time()
        live = [h for h in handles if h.spec.name not in ledger.dead]
        results = await asyncio.gather(*(scrape(client, h) for h in live))
        unreachable = 0
        for handle, samples in zip(live, results, strict=True):
            if samples is None:
                unreachable += 1
            else:
                ledger.update(handle.spec.name, samples)
        for handle in live:
            ledger.process_state(handle.spec.name, handle.state())
        elapsed = max(0.0, clock.time() - t0_wall)
        timeline.append((round(elapsed, 3), ledger.ready_count()))
        if on_tick is not None:
            c = ledger.counts()
            outcomes = [t.outcome for t in ledger.tracers.values()]
            on_tick(
                Tick(
                    elapsed,
                    ledger.fleet,
                    c.success,
                    outcomes.count(TIMEOUT),
                    c.error,
                    c.crashed,
                    unreachable,
                )
            )
        if ledger.all_settled() or clock.time() >= deadline_wall:
            return timeline
        await clock.sleep(max(0.0, interval_s - (clock.time() - started)))


async def scrape_counters(
    client: httpx.AsyncClient, handle: ComponentHandle, prefix: str
) -> dict[str, float] | None:
    """The ``prefix*`` counters and gauges of one component, flat; ``None`` when its
    ``/metrics`` cannot be scraped (unreachable, an error status, or not Prometheus text)."""
    samples = await scrape(client, handle)
    return None if samples is None else flatten(samples, prefix)
