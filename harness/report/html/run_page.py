"""Self-contained HTML reports: one page per run (``report.html``) and one per compare.

Everything is inline: CSS in a ``<style>`` element and hand-written SVG plots, no script, no
font, no stylesheet or image from elsewhere, so that the page opens offline from a CI artifact
(Gatling's report is the model: one file you can open anywhere). Plots:

- the cumulative distribution of provider-ready times (share of the WHOLE fleet ready by time
  t; a curve that stops below 100% shows the tracers that never became ready), one curve per
  scenario on a compare page (the runs of a scenario pooled);
- ready tracers over time since the boot instant (``summary.json`` ``timeline``; rebuilt from
  ``samples.csv`` for a run that has none), one line per run;

then the agent's counters per lane (bypasses granted and rate-limited, lock wait), the
backend's, and the text reports.
"""

from __future__ import annotations

import csv
import html
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ResultsError
from harness.gates.thresholds import STATS, ThresholdResult, parse_series_key, sum_series
from harness.results.folder import load_summary
from harness.studies.comparison import Comparison, RunRecord, cell_text

REPORT_HTML = "report.html"

PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
"""Series colours (distinct from each other and from the grey axes, for readers and tests)."""


# --- loading a run folder --------------------------------------------------------------------


@dataclass(frozen=True)
class RunData:
    """What the HTML needs from one results folder."""

    run_dir: Path
    summary: Mapping[str, Any]
    ready_ms: tuple[float, ...]
    """Provider-ready times of the tracers that became ready, sorted."""
    timeline: tuple[tuple[float, float], ...]
    report_text: str

    @property
    def tracers(self) -> int:
        return int(self.summary.get("tracers") or len(self.ready_ms))


def load_run(run_dir: Path, summary: Mapping[str, Any] | None = None) -> RunData:
    """Read ``summary.json``, ``samples.csv`` and ``report.txt`` of a results folder."""
    if summary is None:
        summary = load_summary(run_dir)
    rows = _read_samples(run_dir / "samples.csv")
    ready = sorted(
        v
        for row in rows
        if row.get("outcome") == "ready" and (v := _num(row.get("provider_ready_ms"))) is not None
    )
    timeline = _timeline(summary, rows)
    try:
        text = (run_dir / "report.txt").read_text(encoding="utf-8")
    except OSError:
        text = ""
    return RunData(run_dir, summary, tuple(ready), timeline, text)


def _read_samples(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        return []
    except (OSError, csv.Error) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc


def _num(text: object) -> float | None:
    if text in (None, ""):
        return None
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _timeline(
    summary: Mapping[str, Any], rows: Sequence[Mapping[str, str]]
) -> tuple[tuple[float, float], ...]:
    raw = summary.get("timeline")
    if isinstance(raw, list) and raw:
        points = []
        for item in raw:
            if isinstance(item, list | tuple) and len(item) == 2:
                t, n = _num(item[0]), _num(item[1])
                if t is not None and n is not None:
                    points.append((t, n))
        if points:
            return tuple(points)
    # No timeline: rebuild it from each tracer's start instant plus its provider-ready time.
    starts = [s for r in rows if (s := _num(r.get("start_wall"))) is not None]
    if not starts:
        return ()
    t0 = min(starts)
    ready_at = sorted(
        s - t0 + ms / 1000.0
        for r in rows
        if r.get("outcome") == "ready"
        and (s := _num(r.get("start_wall"))) is not None
        and (ms := _num(r.get("provider_ready_ms"))) is not None
    )
    return ((0.0, 0.0), *((t, float(i)) for i, t in enumerate(ready_at, start=1)))


# --- SVG plots -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """A line on a plot: points in data units, drawn as a step function."""

    label: str
    color: str
    points: Sequence[tuple[float, float]]
    note: str = ""
    width: float = 2.0


def nice_ticks(high: float, count: int = 6) -> list[float]:
    """Round tick values from 0 to at least ``high`` (steps of 1, 2, 2.5 or 5 times 10^k).

    >>> nice_ticks(11.3)
    [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]
    >>> nice_ticks(0.9)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(100)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    >>> nice_ticks(0)
    [0.0, 1.0]
    """
    if high <= 0:
        return [0.0, 1.0]
    raw = high / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < high - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def svg_plot(
    series: Sequence[Series],
    *,
    plot_id: str,
    title: str,
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    y_percent: bool = False,
) -> str:
    """An inline SVG step plot with axes, grid, ticks and a legend on the right."""
    width, height = 860, 380
    left, right, top, bottom = 70, 220, 34, 52
    pw, ph = width - left - right, height - top - bottom
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    x_ticks = nice_ticks(max(xs, default=0.0) * 1.02)
    y_ticks = (
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] if y_percent else nice_ticks(y_max or max(ys, default=0.0))
    )
    x_top, y_top = x_ticks[-1], y_ticks[-1]

    def px(x: float) -> float:
        return left + pw * x / x_top

    def py(y: float) -> float:
        return top + ph - ph * y / y_top

    out = [
        f'<svg id="{_e(plot_id)}" class="plot" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{_e(title)}">',
        f"<title>{_e(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#ffffff" stroke="#999"/>',
    ]
    for t in x_ticks:
        x = px(t)
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}"/>')
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">'
            f"{_tick_label(t)}</text>"
        )
    for t in y_ticks:
        y = py(t)
        label = f"{t * 100:.0f}%" if y_percent else _tick_label(t)
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    out.append(
        f'<text class="axis" x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">'
        f"{_e(x_label)}</text>"
    )
    out.append(
        f'<text class="axis" transform="translate(16 {top + ph / 2}) rotate(-90)" '
        f'text-anchor="middle">{_e(y_label)}</text>'
    )
    out.append(f'<text class="plot-title" x="{left}" y="{top - 12}">{_e(title)}</text>')
    for s in series:
        if not s.points:
            continue
        (x0, y0), *rest = s.points
        d = [f"M{px(x0):.1f},{py(y0):.1f}"]
        for x, y in rest:
            d.append(f"H{px(x):.1f}V{py(y):.1f}")
        d.append(f"H{px(x_top):.1f}")
        out.append(
            f'<path class="series" data-series="{_e(s.label)}" data-points="{len(s.points)}" '
            f'd="{"".join(d)}" fill="none" stroke="{s.color}" stroke-width="{s.width}"/>'
        )
    if not any(s.points for s in series):
        out.append(
            f'<text class="empty" x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle">'
            "no data: no tracer became ready</text>"
        )
    legend_x = left + pw + 16
    seen: set[str] = set()
    row = 0
    for s in series:
        if s.label in seen:
            continue
        seen.add(s.label)
        y = top + 8 + row * 36
        out.append(f'<rect x="{legend_x}" y="{y}" width="18" height="6" fill="{s.color}"/>')
        out.append(f'<text class="legend" x="{legend_x + 24}" y="{y + 7}">{_e(s.label)}</text>')
        if s.note:
            out.append(
                f'<text class="legend-note" x="{legend_x + 24}" y="{y + 22}">{_e(s.note)}</text>'
            )
        row += 1
    out.append("</svg>")
    return "\n".join(out)


def cdf_series(label: str, color: str, ready_ms: Sequence[float], fleet: int) -> Series:
    """The CDF of provider-ready times in seconds, as a share of the whole fleet."""
    values = sorted(ready_ms)
    total = max(fleet, len(values), 1)
    points = [(0.0, 0.0), *((v / 1000.0, (i + 1) / total) for i, v in enumerate(values))]
    note = f"{len(values)} of {total} ready"
    return Series(label, color, points if values else [], note)


def cdf_plot(series: Sequence[Series]) -> str:
    """The provider-ready CDF plot of a run or a compare page."""
    return svg_plot(
        series,
        plot_id="cdf",
        title="Share of the fleet with a ready provider, by time since tracer start",
        x_label="provider ready time (s)",
        y_label="tracers ready (% of fleet)",
        y_percent=True,
    )


def timeline_plot(series: Sequence[Series], title: str, fleet: int) -> str:
    """The ready-tracers-over-time plot of a run or a compare page, up to ``fleet``."""
    return svg_plot(
        series,
        plot_id="timeline",
        title=title,
        x_label="seconds since boot",
        y_label="ready tracers",
        y_max=float(fleet),
    )


def timeline_series(
    label: str, color: str, timeline: Sequence[tuple[float, float]], width: float = 2.0
) -> Series:
    return Series(label, color, list(timeline), width=width)


# --- agent and backend counters --------------------------------------------------------------


def _series_sum(counters: Mapping[str, Any], name: str, **labels: str) -> float | None:
    return sum_series(counters, name, labels)


def _lanes(counters: Mapping[str, Any]) -> list[str]:
    lanes = {parse_series_key(str(k))[1].get("lane") for k in counters}
    ordered = [lane for lane in ("fast", "standard") if lane in lanes]
    return ordered + sorted(lane for lane in lanes if lane and lane not in ordered)


AGENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("requests", "requests"),
    ("bypass granted", "bypass refreshed"),
    ("bypass rate-limited", "bypass rate_limited"),
    ("bypass timed out", "bypass timed_out"),
    ("lock wait total (ms)", "lock sum"),
    ("lock wait mean (ms)", "lock mean"),
)


def agent_lane_figures(counters: Mapping[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per lane: requests, bypasses by result, lock wait (total and mean, ms)."""
    figures: dict[str, dict[str, float | None]] = {}
    for lane in _lanes(counters):
        row: dict[str, float | None] = {
            "requests": _series_sum(counters, "agent_rc_requests_total", lane=lane)
        }
        for result in ("refreshed", "rate_limited", "timed_out"):
            row[f"bypass {result}"] = _series_sum(
                counters, "agent_rc_bypass_total", lane=lane, result=result
            )
        lock_sum = _series_sum(counters, "agent_rc_lock_wait_seconds_sum", lane=lane)
        lock_count = _series_sum(counters, "agent_rc_lock_wait_seconds_count", lane=lane)
        row["lock sum"] = None if lock_sum is None else lock_sum * 1000.0
        row["lock mean"] = (
            lock_sum * 1000.0 / lock_count if lock_sum is not None and lock_count else None
        )
        figures[lane] = row
    return figures


def _fmt_num(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{decimals}f}"


def agent_table(counters: Mapping[str, Any]) -> str:
    figures = agent_lane_figures(counters)
    if not figures:
        return '<p class="muted">No agent counters were scraped for this run.</p>'
    return lane_figures_table(figures)


def lane_figures_table(figures: Mapping[str, Mapping[str, float | None]]) -> str:
    """One row per lane, one column per ``AGENT_COLUMNS`` figure."""
    head = "".join(f"<th>{_e(label)}</th>" for label, _ in AGENT_COLUMNS)
    body = "".join(
        f"<tr><th>{_e(lane)}</th>"
        + "".join(
            f'<td class="num">{_fmt_num(row[key], 3 if "lock" in key else 0)}</td>'
            for _, key in AGENT_COLUMNS
        )
        + "</tr>"
        for lane, row in figures.items()
    )
    return f'<table class="counters"><tr><th>lane</th>{head}</tr>{body}</table>'


def counters_details(title: str, counters: Mapping[str, Any]) -> str:
    """Every scraped series, raw, in a folded block."""
    if not counters:
        return ""
    rows = "".join(
        f'<tr><td class="mono">{_e(str(k))}</td><td class="num">{_e(_fmt_raw(v))}</td></tr>'
        for k, v in sorted(counters.items())
    )
    return (
        f"<details><summary>{_e(title)} ({len(counters)} series)</summary>"
        f'<table class="raw">{rows}</table></details>'
    )


def _fmt_raw(value: object) -> str:
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return str(value)


def backend_line(counters: Mapping[str, Any]) -> str:
    requests = _series_sum(counters, "backend_rc_requests_total")
    errors = sum(
        float(v)
        for k, v in counters.items()
        if isinstance(v, int | float)
        and (series := parse_series_key(str(k)))[0].startswith("backend_rc_requests")
        and not series[1].get("status", "200").startswith("2")
    )
    sent = _series_sum(counters, "backend_rc_response_bytes_total")
    faults = _series_sum(counters, "backend_rc_faults_injected_total")
    return (
        f"<p>Backend: {_fmt_num(requests)} requests ({_fmt_num(errors)} non-2xx), "
        f"{_fmt_num(sent)} response bytes, {_fmt_num(faults)} faults injected.</p>"
    )


# --- pages -----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1100px;color:#222;padding:0 16px}
h1{font-size:1.5em;margin-bottom:4px}
h2{font-size:1.2em;margin-top:28px;border-bottom:1px solid #ddd}
.meta{color:#555}.muted{color:#777}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.mono{font-family:monospace}
.pass{color:#1a7f37}.fail{color:#c62828;font-weight:bold}
pre{background:#f6f8fa;padding:12px;overflow-x:auto;font-size:13px}
svg.plot{max-width:100%;height:auto;font-family:system-ui,sans-serif}
svg .grid{stroke:#e5e5e5;stroke-width:1}svg .tick{font-size:12px;fill:#555}
svg .axis{font-size:13px;fill:#333}svg .plot-title{font-size:14px;font-weight:bold;fill:#222}
svg .legend{font-size:13px;fill:#222}svg .legend-note{font-size:11px;fill:#666}
svg .empty{font-size:14px;fill:#c62828}
.warn{background:#fff4e5;border-left:4px solid #ff9800;padding:8px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _latency_table(summary: Mapping[str, Any]) -> str:
    head = "".join(f"<th>{s}</th>" for s in STATS)
    rows = []
    for label, key in (
        ("provider ready (ms)", "provider_ready_ms"),
        ("total boot (ms)", "boot_total_ms"),
    ):
        block = summary.get(key)
        values = block if isinstance(block, Mapping) else {}
        cells = "".join(f'<td class="num">{_fmt_num(_num(values.get(s)))}</td>' for s in STATS)
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    return f'<table class="latency"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _counts_line(summary: Mapping[str, Any]) -> str:
    counts = summary.get("counts")
    c = counts if isinstance(counts, Mapping) else {}
    return (
        f"<p>Success {_e(c.get('success', '?'))}/{_e(summary.get('tracers', '?'))} · "
        f"timeout {_e(c.get('timeout', '?'))} · error {_e(c.get('error', '?'))} · "
        f"crashed {_e(c.get('crashed', '?'))} · ProviderError events "
        f"{_e(summary.get('provider_error_events', '?'))}</p>"
    )


def _warnings(summary: Mapping[str, Any]) -> str:
    warnings = summary.get("warnings")
    if not isinstance(warnings, list) or not warnings:
        return ""
    return "".join(f'<p class="warn">warning: {_e(w)}</p>' for w in warnings)


def render_run_html(run: RunData) -> str:
    """The page of one run."""
    s = run.summary
    scenario = str(s.get("scenario", "?"))
    meta = (
        f"run {s.get('run_id', '?')} · runtime {s.get('runtime', '?')} · {run.tracers} tracers · "
        f"provider mode {s.get('provider_mode', '?')} · started {s.get('started_at', '?')} · "
        f"{s.get('duration_s', '?')} s from boot to end of collection"
    )
    cdf = cdf_series(scenario, PALETTE[0], run.ready_ms, run.tracers)
    agent = s.get("agent")
    backend = s.get("backend")
    agent_counters = agent if isinstance(agent, Mapping) else {}
    backend_counters = backend if isinstance(backend, Mapping) else {}
    body = [
        f"<h1>rc-fastlane run: {_e(scenario)}</h1>",
        f'<p class="meta">{_e(meta)}</p>',
        _warnings(s),
        "<h2>Provider ready and boot time</h2>",
        _latency_table(s),
        _counts_line(s),
        "<h2>Provider ready: cumulative distribution</h2>",
        cdf_plot([cdf]),
        "<h2>Ready tracers over time</h2>",
        timeline_plot(
            [timeline_series(scenario, PALETTE[0], run.timeline)],
            "Ready tracers since the boot instant",
            run.tracers,
        ),
        "<h2>Agent counters per lane</h2>",
        agent_table(agent_counters),
        counters_details("all agent series", agent_counters),
        "<h2>Backend</h2>",
        backend_line(backend_counters),
        counters_details("all backend series", backend_counters),
        "<h2>Text report</h2>",
        f'<pre class="report">{_e(run.report_text)}</pre>',
    ]
    return _page(f"rc-fastlane run {scenario} {s.get('run_id', '')}", body)


def write_run_html(run_dir: Path) -> Path:
    """Write ``report.html`` into a results folder written by ``harness run``; return its path."""
    page = render_run_html(load_run(run_dir))
    path = run_dir / REPORT_HTML
    path.write_text(page, encoding="utf-8")
    return path


def _threshold_list(results: Sequence[ThresholdResult]) -> str:
    if not results:
        return '<p class="muted">No thresholds were given.</p>'
    items = "".join(
        f'<li class="{"pass" if r.passed else "fail"}">{_e(r.line())}</li>' for r in results
    )
    return f'<ul class="thresholds">{items}</ul>'


def _compare_table(comparison: Comparison) -> str:
    spread = comparison.repeat > 1
    head = "".join(f"<th>{_e(s)}</th>" for s in comparison.scenarios)
    rows = []
    for row in comparison.rows:
        cells = []
        for cell in row.cells:
            median, rng, ratio = cell_text(cell, row.metric.unit, spread)
            extra = f'<br><span class="muted">{_e(rng)}</span>' if rng else ""
            cells.append(f'<td class="num">{_e(median)} <b>{_e(ratio)}</b>{extra}</td>')
        rows.append(f"<tr><th>{_e(row.label)}</th>{''.join(cells)}</tr>")
    note = (
        f"median of {comparison.repeat} runs, [min-max] across runs, " if spread else ""
    ) + f"ratio to {comparison.scenarios[0]}"
    return (
        f'<table class="compare"><tr><th></th>{head}</tr>{"".join(rows)}</table>'
        f'<p class="muted">{_e(note)}</p>'
    )


def _median_figures(runs: Sequence[RunData]) -> dict[str, dict[str, float | None]]:
    per_run = [agent_lane_figures(_mapping(r.summary.get("agent"))) for r in runs]
    lanes = [lane for figures in per_run for lane in figures]
    out: dict[str, dict[str, float | None]] = {}
    for lane in dict.fromkeys(lanes):
        row: dict[str, float | None] = {}
        for _, key in AGENT_COLUMNS:
            values = [v for f in per_run if (v := f.get(lane, {}).get(key)) is not None]
            row[key] = float(statistics.median(values)) if values else None
        out[lane] = row
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def render_compare_html(comparison: Comparison, runs: Mapping[str, Sequence[RunData]]) -> str:
    """The page of a compare: table, thresholds, CDFs, timelines, counters, text reports."""
    info = comparison.info
    meta = (
        f"{info.get('tracers', '?')} tracers · runtime {info.get('runtime', '?')} · "
        f"{comparison.repeat} run(s) per scenario · started {info.get('started_at', '?')}"
    )
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(comparison.scenarios)}
    cdfs = []
    lines = []
    for scenario in comparison.scenarios:
        data = runs.get(scenario, ())
        pooled = [v for r in data for v in r.ready_ms]
        fleet = sum(r.tracers for r in data)
        series = cdf_series(scenario, colors[scenario], pooled, fleet)
        if len(data) > 1:
            series = Series(
                series.label,
                series.color,
                series.points,
                series.note + f", {len(data)} runs",
            )
        cdfs.append(series)
        for r in data:
            lines.append(timeline_series(scenario, colors[scenario], r.timeline, width=1.5))
    fleet_max = max((r.tracers for d in runs.values() for r in d), default=0)
    body = [
        f"<h1>rc-fastlane compare: {_e(' vs '.join(comparison.scenarios))}</h1>",
        f'<p class="meta">{_e(meta)}</p>',
    ]
    failed = comparison.failed_runs
    if failed:
        body.append(
            "".join(
                f'<p class="warn">{_e(r.scenario)} {_e(r.name)} failed: {_e(r.error)}</p>'
                for r in failed
            )
        )
    body += [
        "<h2>Side by side</h2>",
        _compare_table(comparison),
        "<h2>Thresholds</h2>",
        _threshold_list(comparison.thresholds),
        "<h2>Provider ready: cumulative distribution</h2>",
        cdf_plot(cdfs),
        "<h2>Ready tracers over time</h2>",
        timeline_plot(lines, "Ready tracers since the boot instant (one line per run)", fleet_max),
        "<h2>Agent counters per lane</h2>",
    ]
    for scenario in comparison.scenarios:
        data = runs.get(scenario, ())
        figures = _median_figures(data)
        body.append(f"<h3>{_e(scenario)}</h3>")
        if not figures:
            body.append('<p class="muted">No agent counters.</p>')
            continue
        note = f"median of {len(data)} runs" if len(data) > 1 else "one run"
        body.append(lane_figures_table(figures) + f'<p class="muted">{note}</p>')
    body.append("<h2>Text reports</h2>")
    for scenario in comparison.scenarios:
        for r in runs.get(scenario, ()):
            body.append(
                f"<details><summary>{_e(scenario)} · {_e(r.run_dir.name)}</summary>"
                f'<pre class="report">{_e(r.report_text)}</pre></details>'
            )
    return _page(f"rc-fastlane compare {' vs '.join(comparison.scenarios)}", body)


def write_compare_html(out: Path, comparison: Comparison) -> Path:
    """Write ``<out>/report.html`` for a compare; return its path."""
    runs: dict[str, list[RunData]] = {}
    for scenario in comparison.scenarios:
        runs[scenario] = [_load_record(r) for r in comparison.runs[scenario] if r.ok]
    path = out / REPORT_HTML
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(render_compare_html(comparison, runs), encoding="utf-8")
    return path


def _load_record(record: RunRecord) -> RunData:
    return load_run(record.run_dir, record.summary)
