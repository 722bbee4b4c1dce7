"""The dashboards' panel kinds, built with Grafana's foundation SDK in one house style.

Every panel and every query names the provisioned Prometheus data source by its pinned uid
(``provisioning/datasources``). A panel's queries (:class:`~dashboards.promql.Query`) get the
refIds A, B, C... in order. Width and height are grid units (24 across): the SDK's dashboard
builder places each panel after the previous one, wraps at 24, and puts a row below the tallest
panel of the line before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from string import ascii_uppercase

from grafana_foundation_sdk.builders import bargauge as bargauge_builders
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.builders import stat as stat_builders
from grafana_foundation_sdk.builders import timeseries as timeseries_builders
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import prometheus as prometheus_models
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from dashboards.promql import Query

DATASOURCE_UID = "rc-fastlane-prometheus"
"""The uid pinned in ``provisioning/datasources/prometheus.yaml``."""

MAX_OF_GROWING_COUNT = (
    " Reduced to the maximum over the time range: the count only grows during a run, and when a"
    " run ends its tracer processes stop a moment apart, so the very last points sum only part"
    " of the fleet."
)
"""The end of the description of a stat or bar gauge of a count that only grows (they reduce
to ``max`` by default): why it shows the maximum, not the last value (README, "The end of a
run")."""


def datasource() -> DataSourceRef:
    """A reference to the provisioned Prometheus (a new object: the SDK's models are mutable)."""
    return DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)


def target(query: Query, ref_id: str) -> prometheus_builders.Dataquery:
    """The Prometheus range query of ``query``, written in code mode."""
    out = (
        prometheus_builders.Dataquery()
        .datasource(datasource())
        .editor_mode(prometheus_models.QueryEditorMode.CODE)
        .expr(query.expr)
        .range()
        .legend_format(query.legend)
        .ref_id(ref_id)
    )
    if query.heatmap:
        out.format(prometheus_models.PromQueryFormat.HEATMAP)
    return out


def _reduce(calc: str) -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs([calc]).fields("").values(False)


def row(panel_id: int, title: str) -> dashboard_builders.Row:
    """An expanded row; the panels added after it until the next row are under it."""
    return dashboard_builders.Row(title).id(panel_id)


def stat(
    panel_id: int, title: str, description: str, query: Query, *, calc: str = "max"
) -> stat_builders.Panel:
    """A 4 x 5 number with its sparkline, the series reduced by ``calc``."""
    return (
        stat_builders.Panel()
        .id(panel_id)
        .title(title)
        .description(description)
        .datasource(datasource())
        .span(4)
        .height(5)
        .unit("short")
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.AREA)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
        .text_mode(common.BigValueTextMode.AUTO)
        .reduce_options(_reduce(calc))
        .with_target(target(query, "A"))
    )


def timeseries(
    panel_id: int,
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    width: int = 8,
    height: int = 8,
) -> timeseries_builders.Panel:
    """Thin lines without points, a table legend with last and max, a shared sorted tooltip."""
    panel = (
        timeseries_builders.Panel()
        .id(panel_id)
        .title(title)
        .description(description)
        .datasource(datasource())
        .span(width)
        .height(height)
        .unit(unit)
        .draw_style(common.GraphDrawStyle.LINE)
        .fill_opacity(0)
        .line_width(1)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .legend(
            common_builders.VizLegendOptions()
            .calcs(["lastNotNull", "max"])
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    for index, query in enumerate(queries):
        panel.with_target(target(query, ascii_uppercase[index]))
    return panel


def bargauge(
    panel_id: int, title: str, description: str, query: Query, *, width: int
) -> bargauge_builders.Panel:
    """Horizontal gradient bars, one per series, each reduced to its maximum; 8 high."""
    return (
        bargauge_builders.Panel()
        .id(panel_id)
        .title(title)
        .description(description)
        .datasource(datasource())
        .span(width)
        .height(8)
        .unit("short")
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .orientation(common.VizOrientation.HORIZONTAL)
        .show_unfilled(True)
        .reduce_options(_reduce("max"))
        .with_target(target(query, "A"))
    )
