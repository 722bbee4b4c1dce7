"""Read the Grafana dashboards under ``dashboards/``: their PromQL, variables and data sources.

Grafana interpolates template variables before it sends a query to Prometheus; this module does
the same for the harness's own checks (``tests/dashboards``), so that every expression of every
panel can be executed against a real Prometheus exactly as Grafana would send it. The same check
works on any run a Prometheus holds (e.g. the ``harness up`` stack's)::

    python -m harness.review.dashboards --run-id 1a2b3c4d [--prometheus http://127.0.0.1:9090]

prints each panel's rendered queries with their last and largest values and exits 1 if one has
no data.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.errors import DashboardError

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "dashboards"
"""The repository's ``dashboards/`` folder (JSON dashboards and ``provisioning/``)."""

RATE_INTERVAL_S = 4
"""``$__rate_interval`` as Grafana computes it for the 1 s scrape interval the provisioned data
source declares (``timeInterval``): four scrape intervals."""

_LABEL_VALUES = re.compile(
    r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$"
)


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


@dataclass(frozen=True)
class QueryResult:
    """A panel query as executed: the rendered expression and each series' finite values."""

    query: PanelQuery
    expr: str
    series: list[tuple[dict[str, str], list[float]]]

    @property
    def has_data(self) -> bool:
        return any(values for _labels, values in self.series)

    def last_values(self) -> dict[str, float]:
        """``{labels: last finite value}`` per series (labels as ``k=v`` joined by spaces)."""
        return {_key(labels): values[-1] for labels, values in self.series if values}

    def max_values(self) -> dict[str, float]:
        """``{labels: largest finite value}`` per series."""
        return {_key(labels): max(values) for labels, values in self.series if values}


def _key(labels: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "{}"


def _api(client: httpx.Client, path: str, params: Mapping[str, Any]) -> Any:
    try:
        body = client.get(path, params=params).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DashboardError(
            f"Prometheus at {client.base_url} did not answer {path}: {exc}"
        ) from exc
    if not isinstance(body, dict):
        raise DashboardError(
            f"{client.base_url} answered {path} with {body!r}, not a Prometheus API object: "
            "is --prometheus a Prometheus URL?"
        )
    if body.get("status") != "success":
        raise DashboardError(f"Prometheus refused {path} {dict(params)}: {body.get('error')}")
    return body["data"]


def variable_options(
    client: httpx.Client, dashboard: Mapping[str, Any], values: Mapping[str, str], start: float,
    end: float,
) -> dict[str, list[str]]:  # fmt: skip
    """What each ``label_values`` variable offers over ``[start, end]`` (as Grafana lists it)."""
    out = {}
    for var in variables(dashboard):
        params: dict[str, Any] = {"start": start, "end": end}
        if var.selector:
            params["match[]"] = render(var.selector, values)
        out[var.name] = list(_api(client, f"/api/v1/label/{var.label}/values", params))
    return out


def run_queries(
    client: httpx.Client, dashboard: Mapping[str, Any], values: Mapping[str, str], start: float,
    end: float, step: float = 1.0,
) -> list[QueryResult]:  # fmt: skip
    """Every panel query, rendered with ``values``, over ``[start, end]`` (``query_range``)."""
    results = []
    for query in panel_queries(dashboard):
        expr = render(query.expr, values)
        data = _api(
            client,
            "/api/v1/query_range",
            {"query": expr, "start": start, "end": end, "step": step},
        )
        series = [
            (dict(s["metric"]), [v for _t, raw in s["values"] if math.isfinite(v := float(raw))])
            for s in data["result"]
        ]
        results.append(QueryResult(query, expr, series))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Print every panel's query results for one run; exit 1 when one has no data."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.review.dashboards", description=main.__doc__
    )
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus URL")
    parser.add_argument("--run-id", required=True, help="the run to look at ($run_id)")
    parser.add_argument("--scenario", default=".*", help="$scenario (a regex; default: any)")
    parser.add_argument("--since", type=float, default=3600.0, help="seconds back from now")
    parser.add_argument("--dashboard", type=Path, default=DASHBOARDS_DIR / "rc-fleet-boot.json")
    args = parser.parse_args(argv)
    values = {"run_id": args.run_id, "scenario": args.scenario}
    end = time.time()
    start = end - args.since
    missing = 0
    try:
        dashboard = load_dashboard(args.dashboard)
        with httpx.Client(base_url=args.prometheus, timeout=30) as client:
            for name, offered in variable_options(client, dashboard, values, start, end).items():
                print(f"${name}: {', '.join(offered)}")
            for result in run_queries(client, dashboard, values, start, end):
                q = result.query
                print(f"[{q.panel_id}] {q.panel_title} / {q.ref_id}\n    {result.expr}")
                print(f"    last: {result.last_values() or 'NO DATA'}")
                if result.has_data:
                    print(f"    max:  {result.max_values()}")
                missing += not result.has_data
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
