"""The backend's view on a run page: ``/configurations`` calls per second (and the ones refused
with 429) over time, and the agents' refresh latency (``summary.json`` ``backend_view``)."""

from __future__ import annotations

from harness.gates.metrics import STATS
from harness.report.html.page import PALETTE, esc, fmt_num
from harness.report.html.plots import Series, svg_plot
from harness.results.summary import BackendView, SimulationFacts


def backend_view_html(view: BackendView | None) -> str:
    """The section, or "" for a run without a backend view."""
    if view is None:
        return ""
    calls = [(t, n / view.bin_s) for t, n, _ in view.calls_per_s]
    rejected = [(t, r / view.bin_s) for t, _, r in view.calls_per_s]
    plot = svg_plot(
        [
            Series("calls/s", PALETTE[0], calls, f"{view.calls:,} calls"),
            Series("rejected (429)/s", PALETTE[1], rejected, f"{view.rejected:,} rejected"),
        ],
        plot_id="backend-calls",
        title="Backend /configurations calls per second, by time since the boot instant",
        x_label="seconds since boot",
        y_label="calls per second",
    )
    r = view.refresh_ms
    cells = "".join(
        f'<td class="num">{fmt_num(None if r is None else r.stat(s))}</td>' for s in STATS
    )
    head = "".join(f"<th>{s}</th>" for s in STATS)
    table = (
        f'<table class="latency"><tr><th></th>{head}</tr>'
        f"<tr><th>agent refresh (ms)</th>{cells}</tr></table>"
    )
    line = (
        f"<p>{view.calls:,} calls, {view.rejected:,} rejected (429), peak "
        f"{view.peak_calls_per_s:,g} calls/s at {view.peak_at_s:.1f} s; "
        f"{view.refresh_errors:,} refreshes answered with an error.</p>"
    )
    return "\n".join(["<h2>Backend: calls per second</h2>", plot, line, table])


def simulation_line(facts: SimulationFacts | None) -> str:
    """How a ``harness simulate`` run was made, or "" for a real-time run."""
    if facts is None:
        return ""
    boots = (
        "all at once"
        if facts.agent_boot == "all_at_once"
        else f"{facts.agent_boot} over {facts.boot_spread_s:g} s"
    )
    text = (
        f"simulated in virtual time: {facts.agents:,} agents x {facts.tracers_per_agent:,} "
        f"tracers against one backend, boots {boots}, seed {facts.seed}; "
        f"{facts.virtual_s:,.1f} s simulated in {facts.wall_s:,.1f} s of wall time"
    )
    return f'<p class="meta">{esc(text)}</p>'
