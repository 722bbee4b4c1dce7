"""The side-by-side table printed at the end of ``harness compare``, and its cell format (shared
with the compare page of the HTML report)."""

from __future__ import annotations

from harness.gates.metrics import Unit
from harness.studies.comparison import Cell, Comparison


def _fmt(value: float | None, unit: Unit) -> str:
    if value is None:
        return "n/a"
    if unit is Unit.RATIO:
        return f"{value * 100:.1f}%"
    if unit is Unit.MS:
        return f"{value:,.0f}ms"
    return f"{value:,.0f}"


def _fmt_range(cell: Cell, unit: Unit) -> str:
    if cell.low is None or cell.high is None:
        return ""
    if unit is Unit.RATIO:
        return f"[{cell.low * 100:.1f}-{cell.high * 100:.1f}%]"
    return f"[{cell.low:,.0f}-{cell.high:,.0f}]"


def cell_text(cell: Cell, unit: Unit, with_spread: bool) -> tuple[str, str, str]:
    """The three parts of a table cell: median, spread (``[min-max]``), ratio (``0.44x``)."""
    spread = _fmt_range(cell, unit) if with_spread else ""
    ratio = f"{cell.ratio:.2f}x" if cell.ratio is not None else "n/a"
    return _fmt(cell.median, unit), spread, ratio


def render_table(comparison: Comparison) -> str:
    """The side-by-side table printed at the end of ``harness compare``.

    One column per scenario; each cell is the median across repeats and its ratio to the first
    scenario, with the spread across repeats (``[min-max]``) on a second line when there is
    more than one run, so that four scenarios fit in 80 columns.
    """
    with_spread = comparison.repeat > 1
    header_note = (
        f"median of {comparison.repeat} runs [min-max], ratio to {comparison.scenarios[0]}"
        if with_spread
        else f"ratio to {comparison.scenarios[0]}"
    )
    table: list[tuple[str, list[str]]] = []
    for row in comparison.rows:
        parts = [cell_text(c, row.metric.unit, with_spread) for c in row.cells]
        table.append((row.label, [f"{median} {ratio}" for median, _, ratio in parts]))
        if with_spread:
            table.append(("", [spread for _, spread, _ in parts]))
    label_width = max(len(label) for label, _ in table)
    widths = [
        max(len(s), *(len(texts[j]) for _, texts in table))
        for j, s in enumerate(comparison.scenarios)
    ]
    lines = [f"=== COMPARE ({header_note}) ==="]
    for label, texts in [("", list(comparison.scenarios)), *table]:
        cells = "".join(f"  {t:>{w}}" for t, w in zip(texts, widths, strict=True))
        lines.append(f"{label:<{label_width}}{cells}".rstrip())
    completed = ", ".join(
        f"{s} {len(comparison.summaries(s))}/{len(comparison.runs[s])}"
        for s in comparison.scenarios
    )
    lines.append(f"runs completed: {completed}")
    return "\n".join(lines) + "\n"
