"""The agent's and backend's counters as ``summary.json`` keeps them: flat
``{"metric{label="value",...}": number}`` maps, scraped at the end of a run.

Pure helpers to split a key into name and labels and to sum the series that match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

Counters = Mapping[str, float]
"""Flat counters of one component: ``'name{a="b"}' -> value``."""

_SERIES_KEY = re.compile(r"(?P<name>[A-Za-z_:][\w:]*)(?:\{(?P<labels>.*)\})?")
_LABEL = re.compile(r'([A-Za-z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def parse_series_key(key: str) -> tuple[str, dict[str, str]]:
    """Split a flat counter key ``name{a="b",c="d"}`` into name and labels.

    >>> parse_series_key('agent_rc_bypass_total{lane="fast",result="refreshed"}')
    ('agent_rc_bypass_total', {'lane': 'fast', 'result': 'refreshed'})
    >>> parse_series_key("agent_rc_active_clients")
    ('agent_rc_active_clients', {})
    """
    match = _SERIES_KEY.fullmatch(key.strip())
    if match is None:
        return key, {}
    labels = {m.group(1): m.group(2) for m in _LABEL.finditer(match.group("labels") or "")}
    return match.group("name"), labels


def sum_series(counters: Counters, series: str, labels: Mapping[str, str]) -> float | None:
    """The sum of the counter keys named ``series`` whose labels include ``labels``;
    ``None`` when no key matches.

    >>> sum_series({'x_total{a="1",b="2"}': 2, 'x_total{a="1",b="3"}': 3}, "x_total", {"a": "1"})
    5.0
    """
    total = 0.0
    matched = False
    for key, value in counters.items():
        name, have = parse_series_key(key)
        if name != series or any(have.get(k) != v for k, v in labels.items()):
            continue
        total += float(value)
        matched = True
    return total if matched else None


def label_values(counters: Counters, label: str) -> set[str]:
    """Every value ``label`` takes among the keys of ``counters``."""
    values = (parse_series_key(k)[1].get(label) for k in counters)
    return {v for v in values if v}
