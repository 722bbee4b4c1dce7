"""Prometheus text exposition, parsed into flat samples.

The harness scrapes every tracer process twice a second during a boot storm, so parsing is
on its critical path: prometheus_client's parser spent about 45 us a line (18 ms for one
25-tracer stub process, 80 of them a second for a 1,000-tracer fleet: most of a core taken
from the very machine the run measures). :func:`parse` reads the plain sample lines the services
write itself (about 2 ms for that process) and hands anything else to prometheus_client's
parser, which then either parses it (the same samples) or names the problem.

>>> text = 'tracer_outcome{tracer="3",outcome="ready"} 1.0\\n'
>>> parse(text)
[Sample(name='tracer_outcome', labels={'tracer': '3', 'outcome': 'ready'}, value=1.0)]
>>> flat_key('agent_rc_bypass_total', {'lane': 'fast', 'result': 'refreshed'})
'agent_rc_bypass_total{lane="fast",result="refreshed"}'
"""

from __future__ import annotations

import re
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


_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _labels(text: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if match is None:
            return None if text[pos:].strip() else out
        value = match.group(2)
        if "\\" in value:
            value = re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], value)
        out[match.group(1)] = value
        pos = match.end()
    return out


_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)"')
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _line(line: str) -> Sample | None:
    """One sample line, or None when it is not in the plain form the services write."""
    brace = line.find("{")
    if brace < 0:
        parts = line.split()
        if len(parts) not in (2, 3) or not _NAME.fullmatch(parts[0]):
            return None
        name, labels, value = parts[0], {}, parts[1]
    else:
        close = line.rfind("}")
        rest = line[close + 1 :].split()
        name, inner = line[:brace], line[brace + 1 : close]
        if close < brace or len(rest) not in (1, 2) or not _NAME.fullmatch(name):
            return None
        if "\\" in inner or "}" in inner:
            found = _labels(inner)
            if found is None:
                return None
            labels = found
        else:
            pairs = _PAIR.findall(inner)
            if len(pairs) * 2 != inner.count('"'):
                return None
            labels = dict(pairs)
        value = rest[0]
    try:
        return Sample(name, labels, float(value))
    except ValueError:
        return None


_SEEN: dict[str, Sample] = {}
"""Lines already read: between two scrapes of a process most of its lines do not change (a
settled tracer's gauges), so most lines of a scrape are found here. Samples are not mutated."""
_SEEN_LIMIT = 200_000


def _fast(text: str) -> list[Sample] | None:
    """The samples of ``text`` if every line is a plain sample, comment or blank; else None."""
    out: list[Sample] = []
    seen = _SEEN
    for line in text.splitlines():
        sample = seen.get(line)
        if sample is None:
            if not line or line[0] == "#" or line.isspace():
                continue
            sample = _line(line.strip())
            if sample is None:
                return None
            if len(seen) >= _SEEN_LIMIT:
                seen.clear()
            seen[line] = sample
        out.append(sample)
    return out


def parse(text: str) -> list[Sample]:
    """Every sample in a Prometheus text body; raises :class:`MetricsParseError`."""
    fast = _fast(text)
    if fast is not None:
        return fast
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
