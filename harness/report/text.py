"""The text report, in the proposal's load-test layout, rendered from ``summary.json`` alone.

Because the report is a pure function of the summary, ``harness report DIR`` re-renders a saved
run byte for byte. Layout (reference/rc-fast-lane-proposal.md, "Load Test Results")::

    === CONTAINER HEALTH ===
    Running: 100  |  Exited: 0  |  Restarting: 0  |  Crashes: 0

    === PROVIDER READY TIME (ProviderReady event, i.e. actual RC delivery) ===
    min:    5,059ms  (5.1s)
    ...

Health counts tracers (a process hosting K tracers counts K), like the proposal's one container
per tracer. A ``Crashed: N`` (``Unreachable: N``) field is appended to the Success line only
when a tracer crashed (was unreachable). A run that did not complete (``status`` failed or
interrupted) is said first, with why, so that a partial result is never read as a finished one.
A run with faults has a ``FAULTS`` block (each fault, planned and real seconds from the boot),
and a run whose agent or backend died a ``FAILED`` block (the component, its exit code and last
log lines).

A run that measured its own distortion ends with the "MEASUREMENT VALIDITY" block
(:mod:`harness.report.validity`).

>>> line("p50", 11268)
'p50:   11,268ms  (11.3s)'
>>> line("max", None)
'max:      n/a'
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.validity import validity_lines
from harness.results.summary import BackendView, FaultRecord, Latency, Summary

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


def not_completed(summary: Summary) -> list[str]:
    """The lines that say a run did not complete, and why (none for a completed run)."""
    if summary.completed:
        return []
    return [
        f"=== RUN DID NOT COMPLETE ({summary.status.upper()}) ===",
        *(summary.failure or "no reason recorded").splitlines(),
        f"What follows is what was collected before it stopped ({summary.duration_s:g} s after "
        "the boot instant); tracers not settled by then count as timeouts.",
        "",
    ]


def render_text(summary: Summary) -> str:
    """The report for a summary; ends with a newline."""
    health = summary.health
    counts = summary.counts
    out = [
        *not_completed(summary),
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
    if counts.unreachable:
        success += f"  |  Unreachable: {counts.unreachable}"
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
    if summary.faults:
        out += ["", "=== FAULTS (seconds from the boot: planned -> real) ==="]
        out += [fault_line(f) for f in summary.faults]
    for f in summary.failures:
        out += [
            "",
            f"=== FAILED: {f.component} exited with code {f.exit_code} at {f.at_s:.1f} s "
            "(not planned) ===",
            f"--- last log lines of {f.component} ---",
            *f.log_tail.splitlines(),
        ]
    out.extend(backend_block(summary))
    if summary.validity is not None:
        out.extend(["", *validity_lines(summary.validity)])
    return "\n".join(out) + "\n"


def fault_line(f: FaultRecord) -> str:
    """One fault: kind, planned span, real span, detail.

    >>> fault_line(FaultRecord(kind="network_cut", at_s=3, end_s=13, applied_at_s=3.004,
    ...                        ended_at_s=13.01))
    'network_cut  3-13 s -> 3.004-13.010 s'
    >>> fault_line(FaultRecord(kind="agent_kill", at_s=50, detail="not applied: the run ended"))
    'agent_kill  50 s -> not applied: the run ended'
    """
    planned = f"{f.at_s:g}" + (f"-{f.end_s:g}" if f.end_s is not None else "") + " s"
    if f.applied_at_s is None:
        return f"{f.kind}  {planned} -> {f.detail or 'not applied'}"
    real = f"{f.applied_at_s:.3f}"
    if f.end_s is not None:
        real += "-" + ("(still on)" if f.ended_at_s is None else f"{f.ended_at_s:.3f}")
    text = f"{f.kind}  {planned} -> {real} s"
    return text + (f"  ({f.detail})" if f.detail else "")


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
