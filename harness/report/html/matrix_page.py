"""The HTML page of a matrix (``report.html`` in the matrix folder): per set-up, heatmaps of
clients x agent designs (provider-ready p50 and max, backend calls), the provider-ready CDFs of
each client (one line per design, its runs pooled), the full table and the thresholds."""

from __future__ import annotations

import math
from pathlib import Path

from harness.errors import HarnessError
from harness.report.html.page import PALETTE, esc, page
from harness.report.html.plots import cdf_series, svg_plot
from harness.report.html.run_page import REPORT_HTML, RunData, load_run
from harness.report.matrix_table import COLUMNS, boot_text, figure_text, row_texts
from harness.studies.matrix import MatrixDoc

HEATMAPS: tuple[tuple[str, str], ...] = (
    ("provider ready p50", "ready_p50_ms"),
    ("provider ready max", "ready_max_ms"),
    ("backend /configurations calls", "backend_calls"),
)

_LOW, _HIGH = (46, 160, 67), (198, 40, 40)  # green (lowest) to red (highest)


def heat_colour(value: float, low: float, high: float) -> str:
    """A background colour from green (``low``) to red (``high``), on a log scale.

    >>> heat_colour(1.0, 1.0, 100.0), heat_colour(100.0, 1.0, 100.0)
    ('rgba(46,160,67,0.35)', 'rgba(198,40,40,0.35)')
    """
    if high <= low or value <= 0 or low <= 0:
        share = 0.0
    else:
        share = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    share = min(max(share, 0.0), 1.0)
    r, g, b = (round(a + (z - a) * share) for a, z in zip(_LOW, _HIGH, strict=True))
    return f"rgba({r},{g},{b},0.35)"


def heatmap(doc: MatrixDoc, setup: str, label: str, field: str) -> str:
    """A table of clients (rows) x designs (columns) coloured by ``field``'s median."""
    values = [
        v for c in doc.cells if c.setup == setup and (v := c.median(field)) is not None and v > 0
    ]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    head = "".join(f"<th>{esc(a.name)}</th>" for a in doc.agents)
    rows = []
    for client in doc.clients:
        cells = []
        for agent in doc.agents:
            cell = doc.cell(setup, client.name, agent.name)
            value = None if cell is None else cell.median(field)
            style = "" if value is None else f' style="background:{heat_colour(value, low, high)}"'
            cells.append(
                f'<td class="num" data-field="{field}"{style}>{esc(figure_text(field, value))}</td>'
            )
        rows.append(f"<tr><th>{esc(client.name)}</th>{''.join(cells)}</tr>")
    return (
        f'<table class="heatmap"><caption>{esc(label)}</caption>'
        f"<tr><th>client \\ agent</th>{head}</tr>{''.join(rows)}</table>"
    )


def _runs(out: Path, doc: MatrixDoc) -> dict[str, list[RunData]]:
    runs: dict[str, list[RunData]] = {}
    for cell in doc.cells:
        runs[cell.id] = []
        for run in cell.runs:
            if run.ok:
                try:
                    runs[cell.id].append(load_run(out / run.dir))
                except HarnessError:
                    continue  # a folder removed since: its figures are still in matrix.json
    return runs


def cdf_plots(doc: MatrixDoc, setup: str, runs: dict[str, list[RunData]]) -> list[str]:
    """One provider-ready CDF per client of ``setup``: a line per design, its runs pooled."""
    out = []
    colours = {a.name: PALETTE[i % len(PALETTE)] for i, a in enumerate(doc.agents)}
    for n, client in enumerate(doc.clients):
        series = []
        for agent in doc.agents:
            cell = doc.cell(setup, client.name, agent.name)
            data = runs.get(cell.id, []) if cell is not None else []
            pooled = [v for r in data for v in r.ready_ms]
            fleet = sum(r.tracers for r in data)
            series.append(cdf_series(agent.name, colours[agent.name], pooled, fleet))
        out.append(
            svg_plot(
                series,
                plot_id=f"cdf-{setup}-{n}",
                title=f"{setup}: {client.name}, share of the fleet ready by time since start",
                x_label="provider ready time (s)",
                y_label="tracers ready (% of fleet)",
                y_percent=True,
            )
        )
    return out


def _table(doc: MatrixDoc) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in ("setup", "client", "agent"))
    head += "".join(f"<th>{esc(label)}</th>" for label, _ in COLUMNS)
    rows = []
    for cell in doc.cells:
        names = "".join(f"<td>{esc(n)}</td>" for n in (cell.setup, cell.client, cell.agent))
        figures = "".join(f'<td class="num">{esc(t)}</td>' for t in row_texts(cell, True))
        rows.append(f"<tr>{names}{figures}</tr>")
    return f'<table class="matrix"><tr>{head}</tr>{"".join(rows)}</table>'


def render_matrix_html(doc: MatrixDoc, runs: dict[str, list[RunData]]) -> str:
    """The page of a matrix (see the module docstring)."""
    load = doc.load_average
    meta = (
        f"{doc.tracers} tracers per cell · runtime {doc.runtime} · {doc.repeat} run(s) per cell "
        f"· started {doc.started_at}"
        + (f" · load average before {load['before'][0]:.2f}" if "before" in load else "")
        + (f", after {load['after'][0]:.2f}" if "after" in load else "")
    )
    body = [
        f"<h1>rc-fastlane matrix {esc(doc.matrix_id)}</h1>",
        f'<p class="meta">{esc(meta)}</p>',
        f'<p class="mono">{esc(doc.command)}</p>',
    ]
    if not doc.complete:
        body.append('<p class="warn">Incomplete: the matrix was interrupted.</p>')
    for cell_name, run in doc.failed_runs:
        body.append(f'<p class="warn">{esc(cell_name)} {esc(run.run)} failed: {esc(run.error)}</p>')
    for setup in doc.setups:
        body.append(
            f"<h2>Set-up {esc(setup.name)}</h2><p>{esc(boot_text(setup))}.</p>"
            f'<p class="muted">{esc(setup.description)}</p>'
        )
        body.extend(heatmap(doc, setup.name, label, field) for label, field in HEATMAPS)
        body.extend(cdf_plots(doc, setup.name, runs))
    body += ["<h2>Every cell</h2>", _table(doc), "<h2>Thresholds</h2>"]
    if doc.thresholds:
        items = "".join(
            f'<li class="{"pass" if t.passed else "fail"}">{"✓" if t.passed else "✗"} '
            f"[{esc(t.cell)}] {esc(t.expression)}: observed {esc(t.observed)}"
            f"{' (' + esc(t.explanation) + ')' if t.explanation else ''}</li>"
            for t in doc.thresholds
        )
        body.append(f"<ul>{items}</ul>")
    else:
        body.append('<p class="muted">No thresholds were given.</p>')
    return page(f"rc-fastlane matrix {doc.matrix_id}", body)


def write_matrix_html(out: Path, doc: MatrixDoc) -> Path:
    """Write ``<out>/report.html`` for a matrix; return its path."""
    path = out / REPORT_HTML
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(render_matrix_html(doc, _runs(out, doc)), encoding="utf-8")
    return path
