"""The HTML page of a compare (``report.html`` in the compare folder): the side-by-side table,
the thresholds, one provider-ready CDF per scenario (its runs pooled), one timeline per run, the
agent's counters per lane (median over a scenario's runs) and every run's text report."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.gates.thresholds import ThresholdResult
from harness.report.html.counters import AGENT_COLUMNS, agent_lane_figures, lane_figures_table
from harness.report.html.page import PALETTE, esc, page
from harness.report.html.plots import Series, cdf_plot, cdf_series, timeline_plot, timeline_series
from harness.report.html.run_page import REPORT_HTML, RunData, load_run
from harness.report.tables import cell_text
from harness.studies.comparison import Comparison, RunRecord


def _threshold_list(results: Sequence[ThresholdResult]) -> str:
    if not results:
        return '<p class="muted">No thresholds were given.</p>'
    items = "".join(
        f'<li class="{"pass" if r.passed else "fail"}">{esc(r.line())}</li>' for r in results
    )
    return f'<ul class="thresholds">{items}</ul>'


def _compare_table(comparison: Comparison) -> str:
    spread = comparison.repeat > 1
    head = "".join(f"<th>{esc(s)}</th>" for s in comparison.scenarios)
    rows = []
    for row in comparison.rows:
        cells = []
        for cell in row.cells:
            median, rng, ratio = cell_text(cell, row.metric.unit, spread)
            extra = f'<br><span class="muted">{esc(rng)}</span>' if rng else ""
            cells.append(f'<td class="num">{esc(median)} <b>{esc(ratio)}</b>{extra}</td>')
        rows.append(f"<tr><th>{esc(row.label)}</th>{''.join(cells)}</tr>")
    note = (
        f"median of {comparison.repeat} runs, [min-max] across runs, " if spread else ""
    ) + f"ratio to {comparison.scenarios[0]}"
    return (
        f'<table class="compare"><tr><th></th>{head}</tr>{"".join(rows)}</table>'
        f'<p class="muted">{esc(note)}</p>'
    )


def _median_figures(runs: Sequence[RunData]) -> dict[str, dict[str, float | None]]:
    per_run = [agent_lane_figures(r.summary.agent) for r in runs]
    lanes = [lane for figures in per_run for lane in figures]
    out: dict[str, dict[str, float | None]] = {}
    for lane in dict.fromkeys(lanes):
        row: dict[str, float | None] = {}
        for _, key in AGENT_COLUMNS:
            values = [v for f in per_run if (v := f.get(lane, {}).get(key)) is not None]
            row[key] = float(statistics.median(values)) if values else None
        out[lane] = row
    return out


def render_compare_html(comparison: Comparison, runs: Mapping[str, Sequence[RunData]]) -> str:
    """The page of a compare: table, thresholds, CDFs, timelines, counters, text reports."""
    info = comparison.info
    tracers = info.tracers if isinstance(info.tracers, int) else "/".join(map(str, info.tracers))
    meta = (
        f"{tracers} tracers · runtime {info.runtime} · "
        f"{comparison.repeat} run(s) per scenario · started {info.started_at}"
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
        f"<h1>rc-fastlane compare: {esc(' vs '.join(comparison.scenarios))}</h1>",
        f'<p class="meta">{esc(meta)}</p>',
    ]
    failed = comparison.failed_runs
    if failed:
        body.append(
            "".join(
                f'<p class="warn">{esc(r.scenario)} {esc(r.name)} failed: {esc(r.error)}</p>'
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
        body.append(f"<h3>{esc(scenario)}</h3>")
        if not figures:
            body.append('<p class="muted">No agent counters.</p>')
            continue
        note = f"median of {len(data)} runs" if len(data) > 1 else "one run"
        body.append(lane_figures_table(figures) + f'<p class="muted">{note}</p>')
    body.append("<h2>Text reports</h2>")
    for scenario in comparison.scenarios:
        for r in runs.get(scenario, ()):
            body.append(
                f"<details><summary>{esc(scenario)} · {esc(r.run_dir.name)}</summary>"
                f'<pre class="report">{esc(r.report_text)}</pre></details>'
            )
    return page(f"rc-fastlane compare {' vs '.join(comparison.scenarios)}", body)


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
