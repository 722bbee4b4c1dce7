"""Template variables: which runs and scenarios the panels show.

Both list what Prometheus has seen of the ``<prefix>_run_info`` series (``label_values``),
offer "All" (``.*``) and several values, and start on All. ``$scenario`` only lists the
scenarios of the selected runs.

The query is in the form Grafana's own export writes for a Prometheus variable: an object with
the ``label_values`` text and ``refId: StandardVariableQuery``, and the same text as
``definition`` (what the dashboard settings list shows). The SDK's variable model has no
``definition`` field: :class:`QueryVariable` adds it to the SDK's builder and model.
"""

from __future__ import annotations

from typing import Self

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard

from dashboards.panels import datasource
from dashboards.promql import RUN_INFO


class _VariableModel(dashboard.VariableModel):
    """The SDK's variable model, with Grafana's ``definition``."""

    definition: str | None = None

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        if self.definition is not None:
            payload["definition"] = self.definition
        return payload


class QueryVariable(dashboard_builders.QueryVariable):
    """The SDK's query variable builder, with :meth:`definition`."""

    _internal: _VariableModel

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._internal = _VariableModel(type_val=dashboard.VariableType.QUERY, name=name)

    def definition(self, definition: str) -> Self:
        """The query text the dashboard settings list shows for the variable."""
        self._internal.definition = definition
        return self


def label_values(name: str, label: str, query: str) -> QueryVariable:
    """A multi-value variable over ``query`` (``label_values(...)``), All selected at first."""
    return (
        QueryVariable(name)
        .label(label)
        .datasource(datasource())
        .query({"query": query, "refId": "StandardVariableQuery"})
        .definition(query)
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(True)
        .all_value(".*")
        .multi(True)
        .sort(dashboard.VariableSort.ALPHABETICAL_DESC)
        .current(dashboard.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .hide(dashboard.VariableHide.DONT_HIDE)
        .options([])
        .regex("")
    )


def run_variables() -> list[Builder[dashboard.VariableModel]]:
    """``$run_id``, then ``$scenario`` among the selected runs."""
    return [
        label_values("run_id", "Run id", f"label_values({{{RUN_INFO}}}, run_id)"),
        label_values(
            "scenario", "Scenario", f'label_values({{{RUN_INFO}, run_id=~"$run_id"}}, scenario)'
        ),
    ]
