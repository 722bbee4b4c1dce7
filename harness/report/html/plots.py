"""Hand-written inline SVG plots: step plots with axes, grid, ticks and a legend, and the two the
reports draw (the provider-ready CDF and ready tracers over time)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.html.page import esc


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
        f'<svg id="{esc(plot_id)}" class="plot" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
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
        f"{esc(x_label)}</text>"
    )
    out.append(
        f'<text class="axis" transform="translate(16 {top + ph / 2}) rotate(-90)" '
        f'text-anchor="middle">{esc(y_label)}</text>'
    )
    out.append(f'<text class="plot-title" x="{left}" y="{top - 12}">{esc(title)}</text>')
    for s in series:
        if not s.points:
            continue
        (x0, y0), *rest = s.points
        d = [f"M{px(x0):.1f},{py(y0):.1f}"]
        for x, y in rest:
            d.append(f"H{px(x):.1f}V{py(y):.1f}")
        d.append(f"H{px(x_top):.1f}")
        out.append(
            f'<path class="series" data-series="{esc(s.label)}" data-points="{len(s.points)}" '
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
        out.append(f'<text class="legend" x="{legend_x + 24}" y="{y + 7}">{esc(s.label)}</text>')
        if s.note:
            out.append(
                f'<text class="legend-note" x="{legend_x + 24}" y="{y + 22}">{esc(s.note)}</text>'
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
