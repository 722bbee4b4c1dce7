"""The agent's counters per lane (requests, bypasses by result, lock wait) and the backend's, as
HTML tables, from the flat counters of ``summary.json``."""

from __future__ import annotations

from collections.abc import Mapping

from harness.report.html.page import esc, fmt_num
from harness.results.counters import Counters, label_values, parse_series_key, sum_series


def _series_sum(counters: Counters, name: str, **labels: str) -> float | None:
    return sum_series(counters, name, labels)


def _lanes(counters: Counters) -> list[str]:
    lanes = label_values(counters, "lane")
    ordered = [lane for lane in ("fast", "standard") if lane in lanes]
    return ordered + sorted(lane for lane in lanes if lane not in ordered)


AGENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("requests", "requests"),
    ("bypass granted", "bypass refreshed"),
    ("bypass rate-limited", "bypass rate_limited"),
    ("bypass timed out", "bypass timed_out"),
    ("lock wait total (ms)", "lock sum"),
    ("lock wait mean (ms)", "lock mean"),
)


def agent_lane_figures(counters: Counters) -> dict[str, dict[str, float | None]]:
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


def agent_table(counters: Counters) -> str:
    figures = agent_lane_figures(counters)
    if not figures:
        return '<p class="muted">No agent counters were scraped for this run.</p>'
    return lane_figures_table(figures)


def lane_figures_table(figures: Mapping[str, Mapping[str, float | None]]) -> str:
    """One row per lane, one column per ``AGENT_COLUMNS`` figure."""
    head = "".join(f"<th>{esc(label)}</th>" for label, _ in AGENT_COLUMNS)
    body = "".join(
        f"<tr><th>{esc(lane)}</th>"
        + "".join(
            f'<td class="num">{fmt_num(row[key], 3 if "lock" in key else 0)}</td>'
            for _, key in AGENT_COLUMNS
        )
        + "</tr>"
        for lane, row in figures.items()
    )
    return f'<table class="counters"><tr><th>lane</th>{head}</tr>{body}</table>'


def counters_details(title: str, counters: Counters) -> str:
    """Every scraped series, raw, in a folded block."""
    if not counters:
        return ""
    rows = "".join(
        f'<tr><td class="mono">{esc(str(k))}</td><td class="num">{esc(_fmt_raw(v))}</td></tr>'
        for k, v in sorted(counters.items())
    )
    return (
        f"<details><summary>{esc(title)} ({len(counters)} series)</summary>"
        f'<table class="raw">{rows}</table></details>'
    )


def _fmt_raw(value: object) -> str:
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return str(value)


def backend_line(counters: Counters) -> str:
    requests = _series_sum(counters, "backend_rc_requests_total")
    errors = sum(
        float(v)
        for k, v in counters.items()
        if (series := parse_series_key(k))[0].startswith("backend_rc_requests")
        and not series[1].get("status", "200").startswith("2")
    )
    sent = _series_sum(counters, "backend_rc_response_bytes_total")
    faults = _series_sum(counters, "backend_rc_faults_injected_total")
    return (
        f"<p>Backend: {fmt_num(requests)} requests ({fmt_num(errors)} non-2xx), "
        f"{fmt_num(sent)} response bytes, {fmt_num(faults)} faults injected.</p>"
    )
