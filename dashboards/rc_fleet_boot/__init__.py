"""``rc-fleet-boot.json``: one harness run (or several, to compare) of a fleet booting.

Four rows, a module each: the fleet's boot (provider ready, :mod:`.fleet`), the tracers' RC
requests (:mod:`.tracer`), the agent's RC service (:mod:`.agent`), the RC backend
(:mod:`.backend`). Panel ids are fixed (links to a panel use them); the grid positions follow from
each panel's width and height in order (see :mod:`dashboards.panels`). Metric names are those of
``docs/contracts.md``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import dashboard

from dashboards.rc_fleet_boot import agent, backend, fleet, tracer
from dashboards.variables import run_variables

UID = "rc-fleet-boot"


def dashboard_builder() -> dashboard_builders.Dashboard:
    """The whole dashboard, ready for ``build()``."""
    out = (
        dashboard_builders.Dashboard("RC fast lane: fleet boot")
        .uid(UID)
        .description(
            "One harness run (or several, to compare) of N tracers booting against the agent's"
            " RC service and the RC backend. Metric names: docs/contracts.md."
        )
        .tags(["rc-fastlane", "remote-config"])
        .version(1)
        .editable()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .timezone("utc")
        .refresh("5s")
        .time("now-15m", "now")
        .fiscal_year_start_month(0)
        .live_now(False)
        .links([])
        .annotation(
            dashboard_builders.AnnotationQuery()
            .built_in(1)
            .datasource(dashboard.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
            .name("Annotations & Alerts")
            .type("dashboard")
        )
        .variables(run_variables())
    )
    for section in (fleet, tracer, agent, backend):
        section.add_row(out)
    return out
