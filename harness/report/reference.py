"""The proposal's load-test figures, and how a baseline run compares with them.

``reference/rc-fast-lane-proposal.md``, "Load Test Results": 100 dd-trace-go v2.5.0 tracers
booting at once against one Agent with its default config. A run is comparable when it is the
built-in ``baseline`` as shipped (any provider mode), with 100 tracers booting at once, or the
built-in ``loadtest-setup`` as shipped with 100 tracers (any boot); the CLI then prints one line
after the report saying whether the proposal's figures were reproduced.
The harness never tunes anything to make them match (DESIGN.md, "Fidelity first").

>>> verdict({"min": 5_000, "p50": 11_000, "p90": 17_000, "max": 22_000}, PROVIDER_READY_EVENT_MS)
'reproduced within 25%'
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.results.summary import Summary
from harness.scenario.model import Scenario, load_scenario

PROVIDER_READY_EVENT_MS = {"min": 5_059, "p50": 11_268, "p90": 17_122, "max": 22_396}
"""SetProvider (non-blocking) with event handlers: PROVIDER READY TIME."""

BOOT_TOTAL_WAIT_MS = {"min": 6_093, "p50": 29_527, "p90": 34_654, "p99": 49_032, "max": 49_032}
"""SetProviderAndWait: TOTAL BOOT TIME (the 30 s init-timeout cliff)."""

TOLERANCE = 0.25
"""A figure is reproduced when within 25 % of the proposal's (one run of 100 tracers)."""


COMPARABLE = ("baseline", "loadtest-setup")
"""The built-ins meant to reproduce the proposal's load test: today's set-up as the harness runs
it, and the proposal's set-up as far as it can be reconstructed (two fitted values)."""


def comparable(scenario: Scenario) -> bool:
    """Whether ``scenario`` is a shipped :data:`COMPARABLE` built-in (any provider mode; for
    ``loadtest-setup`` any boot, e.g. Docker's own start spread) with 100 tracers."""
    if scenario.fleet.tracers != 100 or scenario.name not in COMPARABLE:
        return False
    shipped = load_scenario(scenario.name, [f"provider.mode={scenario.provider.mode}"])
    if scenario.name == "baseline" and scenario.fleet.boot != "all_at_once":
        return False
    sections = ("client", "provider", "agent", "backend")
    return all(getattr(scenario, s) == getattr(shipped, s) for s in sections)


def verdict(ours: Mapping[str, int], ref: Mapping[str, int]) -> str:
    """Whether every figure of ``ref`` is matched by ``ours`` within :data:`TOLERANCE`."""
    close = all(abs(ours[k] - ref[k]) <= TOLERANCE * ref[k] for k in ref)
    return f"reproduced within {TOLERANCE:.0%}" if close else "NOT reproduced"


def versus_proposal(summary: Summary) -> str:
    """One line: our figures against the proposal's, and whether they are reproduced."""
    if summary.provider_mode == "wait":
        label, ref, latency = "total boot, wait mode", BOOT_TOTAL_WAIT_MS, summary.boot_total_ms
    else:
        label, ref, latency = (
            "provider ready",
            PROVIDER_READY_EVENT_MS,
            summary.provider_ready_ms,
        )
    head = f"{summary.scenario} vs the proposal's load test ({label}, ours vs theirs)"
    if latency is None:
        return f"{head}: no tracer became ready: NOT reproduced"
    ours = {k: latency.stat(k) for k in ref}
    parts = ", ".join(f"{k} {ours[k] / 1000:.1f}s vs {ref[k] / 1000:.1f}s" for k in ref)
    return f"{head}: {parts}: {verdict(ours, ref)}"
