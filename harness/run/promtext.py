"""Prometheus text exposition, parsed into flat samples (prometheus_client's parser).

>>> text = 'tracer_outcome{tracer="3",outcome="ready"} 1.0\\n'
>>> parse(text)
[Sample(name='tracer_outcome', labels={'tracer': '3', 'outcome': 'ready'}, value=1.0)]
>>> flat_key('agent_rc_bypass_total', {'lane': 'fast', 'result': 'refreshed'})
'agent_rc_bypass_total{lane="fast",result="refreshed"}'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from harness.errors import MetricsParseError


@dataclass(frozen=True)
class Sample:
    """One sample line: metric name (with ``_total``/``_sum``/... suffix), labels and value."""

    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    """Every sample in a Prometheus text body; raises :class:`MetricsParseError`."""
    try:
        return [
            Sample(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except (ValueError, TypeError, IndexError) as exc:
        raise MetricsParseError(f"not Prometheus text: {exc}") from exc


def flat_key(name: str, labels: Mapping[str, str]) -> str:
    """``name{k="v",...}`` with labels in the order given (``name`` alone without labels)."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{inner}}}"


def flatten(samples: Iterable[Sample], prefix: str) -> dict[str, float]:
    """``{"metric{labels}": value}`` for the samples whose name starts with ``prefix``.

    Histogram buckets are left out (their ``_sum`` and ``_count`` stay): the summary keeps
    counters and gauges, not distributions. So are the ``_created`` timestamps that
    prometheus_client adds to counters and histograms.
    """
    out: dict[str, float] = {}
    for s in samples:
        if not s.name.startswith(prefix) or s.name.endswith(("_bucket", "_created")):
            continue
        out[flat_key(s.name, s.labels)] = s.value
    return out
