"""The HTML page of one run (``report.html`` in its results folder).

Plots: the cumulative distribution of provider-ready times (share of the WHOLE fleet ready by
time t; a curve that stops below 100% shows the tracers that never became ready) and ready
tracers over time since the boot instant (``summary.json`` ``timeline``; rebuilt from
``samples.csv`` for a run that has none); then the agent's counters per lane, the backend's, and
the text report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.gates.metrics import STATS
from harness.report.html.backend_view import backend_view_html, simulation_line
from harness.report.html.counters import agent_table, backend_line, counters_details
from harness.report.html.page import PALETTE, esc, fmt_num, page
from harness.report.html.plots import cdf_plot, cdf_series, timeline_plot, timeline_series
from harness.report.validity import validity_lines
from harness.results.folder import load_summary, read_report_text
from harness.results.samples import READY, TracerSample, read_samples, ready_times_ms
from harness.results.summary import Summary

REPORT_HTML = "report.html"


@dataclass(frozen=True)
class RunData:
    """What the HTML needs from one results folder."""

    run_dir: Path
    summary: Summary
    ready_ms: tuple[float, ...]
    """Provider-ready times of the tracers that became ready, sorted."""
    timeline: tuple[tuple[float, float], ...]
    report_text: str
    ready_by_kind: tuple[tuple[str, tuple[float, ...]], ...] = ()
    """Mixed or real fleets: the provider-ready times of each kind of tracer."""

    @property
    def tracers(self) -> int:
        return self.summary.tracers


def load_run(run_dir: Path, summary: Summary | None = None) -> RunData:
    """Read ``summary.json``, ``samples.csv`` and ``report.txt`` of a results folder."""
    if summary is None:
        summary = load_summary(run_dir)
    rows = read_samples(run_dir / "samples.csv")
    ready = tuple(float(v) for v in ready_times_ms(rows))
    by_kind = tuple(
        (kind, tuple(float(v) for v in ready_times_ms([r for r in rows if r.kind == kind])))
        for kind in summary.by_kind
    )
    text = read_report_text(run_dir)
    return RunData(run_dir, summary, ready, _timeline(summary, rows), text, by_kind)


def _timeline(summary: Summary, rows: Sequence[TracerSample]) -> tuple[tuple[float, float], ...]:
    if summary.timeline:
        return tuple((t, float(n)) for t, n in summary.timeline)
    # No timeline: rebuild it from each tracer's start instant plus its provider-ready time.
    starts = [r.start_wall for r in rows if r.start_wall is not None]
    if not starts:
        return ()
    t0 = min(starts)
    ready_at = sorted(
        r.start_wall - t0 + r.provider_ready_ms / 1000.0
        for r in rows
        if r.outcome == READY and r.start_wall is not None and r.provider_ready_ms is not None
    )
    return ((0.0, 0.0), *((t, float(i)) for i, t in enumerate(ready_at, start=1)))


def latency_table(summary: Summary) -> str:
    """Provider ready and total boot: one row each, one column per statistic (ms)."""
    head = "".join(f"<th>{s}</th>" for s in STATS)
    rows = []
    for label, latency in (
        ("provider ready (ms)", summary.provider_ready_ms),
        ("total boot (ms)", summary.boot_total_ms),
    ):
        cells = "".join(
            f'<td class="num">{fmt_num(None if latency is None else latency.stat(s))}</td>'
            for s in STATS
        )
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    return f'<table class="latency"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def counts_line(summary: Summary) -> str:
    c = summary.counts
    return (
        f"<p>Success {c.success}/{summary.tracers} · timeout {c.timeout} · error {c.error} · "
        f"crashed {c.crashed} · unreachable {c.unreachable} · "
        f"ProviderError events {summary.provider_error_events}</p>"
    )


def kind_table(summary: Summary) -> str:
    """Mixed or real fleets: one row per kind of tracer (provider ready, ms)."""
    if not summary.by_kind:
        return ""
    head = "".join(f"<th>{s}</th>" for s in STATS)
    rows = []
    for kind, figures in summary.by_kind.items():
        latency = figures.provider_ready_ms
        cells = "".join(
            f'<td class="num">{fmt_num(None if latency is None else latency.stat(s))}</td>'
            for s in STATS
        )
        ready = f"{figures.counts.success}/{figures.tracers}"
        rows.append(f"<tr><th>{esc(kind)}</th><td>{ready}</td>{cells}</tr>")
    return (
        "<h2>Provider ready by tracer kind (ms)</h2>"
        f'<table class="latency"><tr><th></th><th>ready</th>{head}</tr>{"".join(rows)}</table>'
    )


def warnings_block(warnings: Sequence[str]) -> str:
    return "".join(f'<p class="warn">warning: {esc(w)}</p>' for w in warnings)


def validity_block(summary: Summary) -> str:
    """The "MEASUREMENT VALIDITY" block (harness.report.validity), verdict first."""
    if summary.validity is None:
        return ""
    lines = validity_lines(summary.validity)
    css = "warn" if summary.validity.failed else "meta"
    return (
        "<h2>Measurement validity</h2>"
        f'<p class="{css}">{esc(lines[1])}</p>'
        f'<pre class="report">{esc(chr(10).join(lines[2:]))}</pre>'
    )


def render_run_html(run: RunData) -> str:
    """The page of one run."""
    s = run.summary
    meta = (
        f"run {s.run_id} · runtime {s.runtime} · {run.tracers} tracers · "
        f"provider mode {s.provider_mode} · started {s.started_at} · "
        f"{s.duration_s} s from boot to end of collection"
    )
    cdfs = [cdf_series(s.scenario, PALETTE[0], run.ready_ms, run.tracers)]
    for n, (kind, ready) in enumerate(run.ready_by_kind, start=1):
        cdfs.append(cdf_series(kind, PALETTE[n % len(PALETTE)], ready, s.by_kind[kind].tracers))
    body = [
        f"<h1>rc-fastlane run: {esc(s.scenario)}</h1>",
        f'<p class="meta">{esc(meta)}</p>',
        simulation_line(s.simulation),
        warnings_block(s.warnings),
        validity_block(s),
        "<h2>Provider ready and boot time</h2>",
        latency_table(s),
        counts_line(s),
        kind_table(s),
        "<h2>Provider ready: cumulative distribution</h2>",
        cdf_plot(cdfs),
        "<h2>Ready tracers over time</h2>",
        timeline_plot(
            [timeline_series(s.scenario, PALETTE[0], run.timeline)],
            "Ready tracers since the boot instant",
            run.tracers,
        ),
        "<h2>Agent counters per lane</h2>",
        agent_table(s.agent),
        counters_details("all agent series", s.agent),
        "<h2>Backend</h2>",
        backend_line(s.backend),
        counters_details("all backend series", s.backend),
        backend_view_html(s.backend_view),
        "<h2>Text report</h2>",
        f'<pre class="report">{esc(run.report_text)}</pre>',
    ]
    return page(f"rc-fastlane run {s.scenario} {s.run_id}", body)


def write_run_html(run_dir: Path) -> Path:
    """Write ``report.html`` into a results folder written by ``harness run``; return its path."""
    html = render_run_html(load_run(run_dir))
    path = run_dir / REPORT_HTML
    path.write_text(html, encoding="utf-8")
    return path


def write_html_if_available(run_dir: Path) -> str | None:
    """Write ``report.html``; return a warning instead of failing a completed run when it cannot
    be written (the text report stands on its own)."""
    try:
        write_run_html(run_dir)
    except Exception as exc:
        return f"report.html for {run_dir} was not written: {exc}"
    return None
