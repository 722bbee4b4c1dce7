"""The table printed at the end of ``harness matrix`` (one row per cell), and the cell formats
shared with its HTML page and the decision report."""

from __future__ import annotations

from collections.abc import Sequence

from harness.studies.matrix import CellEntry, MatrixDoc, SetupInfo, Stat

COLUMNS: tuple[tuple[str, str], ...] = (
    ("p50", "ready_p50_ms"),
    ("p90", "ready_p90_ms"),
    ("max", "ready_max_ms"),
    ("success", "success_ratio"),
    ("backend calls", "backend_calls"),
    ("agent req/tracer", "agent_requests_per_tracer"),
)
"""The figures of the table: heading and :class:`~harness.studies.matrix.RunFigures` field."""


def seconds(ms: float | None) -> str:
    """Milliseconds as seconds with two decimals.

    >>> seconds(7071.0), seconds(None)
    ('7.07 s', 'n/a')
    """
    return "n/a" if ms is None else f"{ms / 1000:.2f} s"


def figure_text(field: str, value: float | None) -> str:
    """One figure as the tables show it.

    >>> figure_text("success_ratio", 0.97), figure_text("backend_calls", 4.0)
    ('97%', '4')
    >>> figure_text("agent_requests_per_tracer", 2.345), figure_text("ready_p50_ms", 580.0)
    ('2.3', '0.58 s')
    """
    if value is None:
        return "n/a"
    if field.endswith("_ms"):
        return seconds(value)
    if field == "success_ratio":
        return f"{value * 100:.0f}%"
    if field == "agent_requests_per_tracer":
        return f"{value:.1f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def stat_text(field: str, found: Stat | None, with_spread: bool) -> str:
    """A cell's figure: its median, and ``[min-max]`` across runs when asked and they differ."""
    if found is None:
        return "n/a"
    text = figure_text(field, found.median)
    low, high = found.low, found.high
    if with_spread and low is not None and high is not None and found.runs > 1 and low != high:
        text += f" [{figure_text(field, low)}-{figure_text(field, high)}]"
    return text


def row_texts(cell: CellEntry, with_spread: bool = False) -> list[str]:
    """The figures of one cell, in :data:`COLUMNS` order."""
    return [stat_text(field, cell.figures.get(field), with_spread) for _, field in COLUMNS]


def render_matrix_table(doc: MatrixDoc) -> str:
    """The text table: one row per cell, medians over its runs."""
    spread = doc.repeat > 1
    head = ["setup", "client", "agent", *(label for label, _ in COLUMNS)]
    rows: list[Sequence[str]] = [
        [c.setup, c.client, c.agent, *row_texts(c, spread)] for c in doc.cells
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    note = f"median of {doc.repeat} runs [min-max]" if spread else "one run per cell"
    lines = [
        f"=== MATRIX ({note}; {doc.tracers} tracers, runtime {doc.runtime}): provider ready, "
        "success, and the boot's cost: backend /configurations calls, agent requests per tracer ==="
    ]
    for r in [head, *rows]:
        lines.append(
            "  ".join(
                t.ljust(w) if i < 3 else t.rjust(w)
                for i, (t, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    failed = doc.failed_runs
    if failed:
        lines.append(f"failed runs: {', '.join(f'{c} {r.run}' for c, r in failed)}")
    if not doc.complete:
        lines.append("INCOMPLETE: the matrix was interrupted; the table holds the runs that ended")
    return "\n".join(lines) + "\n"


def boot_text(setup: SetupInfo) -> str:
    """How a set-up boots, from its settings.

    >>> info = SetupInfo(name="x", source="x", description="", boot="ramp", ramp_s=20.0,
    ...     agent_start="with_fleet", rc_unavailable_s=16.0, provider_delay_ms=0.0)
    >>> boot_text(info)
    'tracer starts spread over 20 s; agent started with the fleet, RC serving 16 s after the boot'
    """
    boot = {
        "all_at_once": "all tracers start at one instant",
        "ramp": f"tracer starts spread over {setup.ramp_s:g} s",
        "as_started": "each tracer starts when its process or container is up",
    }.get(setup.boot, setup.boot)
    if setup.agent_start == "with_fleet":
        agent = (
            f"agent started with the fleet, RC serving {setup.rc_unavailable_s:g} s after the boot"
        )
    elif setup.rc_unavailable_s:
        agent = f"agent healthy first, RC serving {setup.rc_unavailable_s:g} s after its start"
    else:
        agent = "agent healthy before the boot"
    text = f"{boot}; {agent}"
    if setup.provider_delay_ms:
        text += f"; provider created {setup.provider_delay_ms / 1000:g} s after tracer start"
    return text


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``, or ``None`` when either is missing or ``base`` is 0."""
    if value is None or base is None or base == 0:
        return None
    return value / base


def ratio_text(value: float | None) -> str:
    """``0.08x``; ``n/a`` when there is none.

    >>> ratio_text(0.0812), ratio_text(None)
    ('0.08x', 'n/a')
    """
    return "n/a" if value is None else f"{value:.2f}x"


def delta_text(value: float | None, base: float | None) -> str:
    """The signed difference of two counts: ``+3``, ``-1``, ``±0``.

    >>> delta_text(7.0, 4.0), delta_text(4.0, 4.0), delta_text(None, 4.0)
    ('+3', '±0', 'n/a')
    """
    if value is None or base is None:
        return "n/a"
    diff = value - base
    if diff == 0:
        return "±0"
    return f"{diff:+,.0f}" if diff == int(diff) else f"{diff:+,.1f}"
