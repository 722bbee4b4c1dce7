"""The text report, in the proposal's load-test layout, rendered from ``summary.json`` alone.

Because the report is a pure function of the summary, ``harness report DIR`` re-renders a saved
run byte for byte. Layout (reference/rc-fast-lane-proposal.md, "Load Test Results")::

    === CONTAINER HEALTH ===
    Running: 100  |  Exited: 0  |  Restarting: 0  |  Crashes: 0

    === PROVIDER READY TIME (ProviderReady event, i.e. actual RC delivery) ===
    min:    5,059ms  (5.1s)
    ...

Health counts tracers (a process hosting K tracers counts K), like the proposal's one container
per tracer. A ``Crashed: N`` field is appended to the Success line only when a tracer crashed.

>>> line("p50", 11268)
'p50:   11,268ms  (11.3s)'
>>> line("max", None)
'max:      n/a'
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.results.summary import BackendView, Latency, Summary

PROVIDER_READY_ROWS = ("min", "p50", "p90", "max")
BOOT_TOTAL_ROWS = ("min", "p50", "p75", "p90", "p95", "p99", "max")


def line(label: str, value_ms: int | None) -> str:
    """One percentile line: thousands separators, seconds to one decimal in brackets."""
    if value_ms is None:
        return f"{label}:{'n/a':>9}"
    return f"{label}:{value_ms:>9,}ms  ({value_ms / 1000:.1f}s)"


def _block(title: str, stats: Latency | None, rows: Sequence[str]) -> list[str]:
    out = [f"=== {title} ==="]
    for row in rows:
        out.append(line(row, None if stats is None else stats.stat(row)))
    return out


def render_text(summary: Summary) -> str:
    """The report for a summary; ends with a newline."""
    health = summary.health
    counts = summary.counts
    out = [
        "=== CONTAINER HEALTH ===",
        f"Running: {health.running}  |  Exited: {health.exited}  |  "
        f"Restarting: {health.restarting}  |  Crashes: {health.crashes}",
        "",
        *_block(
            "PROVIDER READY TIME (ProviderReady event, i.e. actual RC delivery)",
            summary.provider_ready_ms,
            PROVIDER_READY_ROWS,
        ),
        "",
        *_block(
            "TOTAL BOOT TIME (tracer start + provider ready + first eval)",
            summary.boot_total_ms,
            BOOT_TOTAL_ROWS,
        ),
        "",
    ]
    success = (
        f"Success: {counts.success}/{summary.tracers}  |  "
        f"Timeout: {counts.timeout}  |  Error: {counts.error}"
    )
    if counts.crashed:
        success += f"  |  Crashed: {counts.crashed}"
    out.append(success)
    out.append(f"ProviderError events: {summary.provider_error_events}")
    if summary.provider_mode == "wait" and summary.buckets is not None:
        b = summary.buckets
        out.append(
            f"Under 10s: {b.under_10s}  |  28-32s (timeout cliff): "
            f"{b.cliff_28_32s}  |  Over 32s: {b.over_32s}"
        )
    out += _by_kind(summary)
    for component, tail in summary.crash_logs.items():
        out += ["", f"=== CRASHED: {component} (last log lines) ===", *tail.splitlines()]
    out.extend(backend_block(summary))
    return "\n".join(out) + "\n"


def _by_kind(summary: Summary) -> list[str]:
    """The provider-ready figures of each kind of tracer (mixed or real fleets only)."""
    if not summary.by_kind:
        return []
    out = ["", "=== PROVIDER READY BY TRACER KIND ==="]
    out.append(f"{'kind':<12} {'ready':>9} {'min':>8} {'p50':>8} {'p90':>8} {'max':>8}")
    for kind, figures in summary.by_kind.items():
        stats = figures.provider_ready_ms
        cells = [
            "n/a" if stats is None else f"{stats.stat(s) / 1000:.2f}s"
            for s in ("min", "p50", "p90", "max")
        ]
        ready = f"{figures.counts.success}/{figures.tracers}"
        out.append(f"{kind:<12} {ready:>9} " + " ".join(f"{c:>8}" for c in cells))
    return out


def backend_block(summary: Summary) -> list[str]:
    """The backend's view and how the run was simulated, when the summary has them.

    >>> from harness.results.summary import BackendView
    >>> view = BackendView(calls=40, rejected=3, peak_calls_per_s=12, peak_at_s=4.0)
    >>> print("\\n".join(backend_block_of(view)))
    <BLANKLINE>
    === BACKEND (/configurations, as the backend saw it) ===
    Calls: 40  |  Rejected (429): 3  |  Peak: 12 calls/s at 4.0s
    === AGENT REFRESH LATENCY (agent -> backend -> agent, queueing included) ===
    n/a (no refresh)
    """
    out: list[str] = []
    sim = summary.simulation
    if sim is not None:
        out += [
            "",
            "=== SIMULATION (virtual time, harness simulate) ===",
            f"Agents: {sim.agents} x {sim.tracers_per_agent} tracers  |  boots "
            + (
                "all at once"
                if sim.agent_boot == "all_at_once"
                else f"{sim.agent_boot} over {sim.boot_spread_s:g}s"
            )
            + f"  |  seed {sim.seed}",
            f"Simulated {sim.virtual_s:,.1f}s in {sim.wall_s:,.1f}s of wall time"
            + ("" if sim.keep_polling else "  (settled fleets stop polling)"),
        ]
    if summary.backend_view is not None:
        out += backend_block_of(summary.backend_view)
    return out


def backend_block_of(view: BackendView) -> list[str]:
    """The backend's view: calls, rejections, peak rate, and the agents' refresh latency."""
    out = [
        "",
        "=== BACKEND (/configurations, as the backend saw it) ===",
        f"Calls: {view.calls:,}  |  Rejected (429): {view.rejected:,}  |  "
        f"Peak: {view.peak_calls_per_s:,g} calls/s at {view.peak_at_s:.1f}s",
        "=== AGENT REFRESH LATENCY (agent -> backend -> agent, queueing included) ===",
    ]
    r = view.refresh_ms
    if r is None:
        out.append("n/a (no refresh)")
    else:
        out.append(
            f"min {r.min:,}ms  |  p50 {r.p50:,}ms  |  p90 {r.p90:,}ms  |  p99 {r.p99:,}ms  |  "
            f"max {r.max:,}ms  |  errors {view.refresh_errors:,}"
        )
    return out
