"""Read the Grafana dashboards under ``dashboards/``: their PromQL, variables and data sources.

Grafana interpolates template variables before it sends a query to Prometheus; this module does
the same for the harness's own checks (``tests/dashboards``), so that every expression of every
panel can be executed against a real Prometheus exactly as Grafana would send it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.runtime.base import HarnessError

DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"
"""The repository's ``dashboards/`` folder (JSON dashboards and ``provisioning/``)."""

RATE_INTERVAL_S = 4
"""``$__rate_interval`` as Grafana computes it for the 1 s scrape interval the provisioned data
source declares (``timeInterval``): four scrape intervals."""

_LABEL_VALUES = re.compile(
    r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$"
)


class DashboardError(HarnessError):
    """A dashboard file cannot be read or does not have the shape Grafana expects."""


@dataclass(frozen=True)
class PanelQuery:
    """One PromQL target of one panel."""

    panel_id: int
    panel_title: str
    ref_id: str
    expr: str


@dataclass(frozen=True)
class Variable:
    """A ``label_values([selector,] label)`` query variable."""

    name: str
    selector: str | None
    label: str


def load_dashboard(path: Path) -> dict[str, Any]:
    """The dashboard JSON as a dict; :class:`DashboardError` names the file when it is not one."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DashboardError(f"cannot read dashboard {path}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("panels"), list):
        raise DashboardError(f"dashboard {path} is not a Grafana dashboard (no 'panels' list)")
    return raw


def dashboard_paths(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    """Every dashboard JSON file of the folder (what Grafana's file provider loads)."""
    return sorted(directory.glob("*.json"))


def iter_panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Every PromQL expression of every panel, in panel order."""
    return [
        PanelQuery(int(p["id"]), str(p.get("title", "")), str(t.get("refId", "")), t["expr"])
        for p in iter_panels(dashboard)
        for t in p.get("targets", [])
        if "expr" in t
    ]


def variables(dashboard: Mapping[str, Any]) -> list[Variable]:
    """The dashboard's ``label_values`` query variables, in order."""
    out = []
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        match = _LABEL_VALUES.match(text)
        if var.get("type") != "query" or match is None:
            raise DashboardError(
                f"variable {var.get('name')!r} is not a label_values(...) query: {text!r}"
            )
        out.append(Variable(var["name"], match["selector"], match["label"]))
    return out


def render(expr: str, values: Mapping[str, str]) -> str:
    """Substitute Grafana variables (``$name``, ``${name}``, ``[[name]]``) as Grafana does.

    ``values`` holds the dashboard variables (already regex-formatted, e.g. ``a|b`` or ``.*``);
    the built-in ``$__rate_interval``, ``$__interval`` and ``$__range`` get defaults unless given.

    >>> render('rate(x{run_id=~"$run_id"}[$__rate_interval])', {"run_id": "r1"})
    'rate(x{run_id=~"r1"}[4s])'
    """
    builtins = {"__rate_interval": f"{RATE_INTERVAL_S}s", "__interval": "1s", "__range": "1h"}
    merged = {**builtins, **values}
    for name in sorted(merged, key=len, reverse=True):
        value = merged[name]
        expr = expr.replace("${" + name + "}", value).replace("[[" + name + "]]", value)
        expr = re.sub(r"\$" + re.escape(name) + r"\b", value.replace("\\", "\\\\"), expr)
    if "$" in expr:
        raise DashboardError(f"unknown variable left in query after substitution: {expr}")
    return expr
