"""`statistics`: suppressed tables for the coordinator. Translation only."""

from __future__ import annotations

from typing import Any, Self

import strawberry
from strawberry.types import Info

from cases import statistics as service
from cases.statistics_tables import Dimension, Measure, Table
from schema.context import HubContext
from schema.permissions import requires

strawberry.enum(Measure, name="StatisticsMeasure")
strawberry.enum(Dimension, name="StatisticsDimension")

DEFAULT_K = 5


def statistics_k(request: Any) -> int:
    """The hub's k (``HUB_STATISTICS_K``), from the application serving this request."""
    hub = getattr(getattr(getattr(request, "app", None), "state", None), "hub", None)
    return int(hub.settings.statistics_k) if hub is not None else DEFAULT_K


@strawberry.type
class StatisticsRow:
    label: str
    cells: list[int | None] = strawberry.field(
        description="One per column, in `columns` order; null where suppressed."
    )
    total: int | None


@strawberry.type
class StatisticsColumn:
    label: str
    total: int | None


@strawberry.type(
    description="Counts by two dimensions. Every published number counts at least `k` "
    "survivors; null numbers are suppressed so that none can be recovered from the others."
)
class StatisticsTable:
    measure: Measure
    row_dimension: Dimension
    column_dimension: Dimension | None
    k: int
    rows: list[StatisticsRow]
    columns: list[StatisticsColumn]
    total: int | None

    @classmethod
    def from_table(cls, table: Table) -> Self:
        p = table.published
        return cls(
            measure=table.measure,
            row_dimension=table.rows,
            column_dimension=table.columns,
            k=table.k,
            rows=[
                StatisticsRow(label=label, cells=list(p.cells[i]), total=p.row_totals[i])
                for i, label in enumerate(table.row_labels)
            ],
            columns=[
                StatisticsColumn(label=label, total=p.column_totals[j])
                for j, label in enumerate(table.column_labels)
            ],
            total=p.total,
        )


@strawberry.type
class StatisticsQueries:
    @strawberry.field(
        permission_classes=[requires(service.SCOPE)],
        description="Counts of consented (STATISTICS) cases, referrals or repatriation "
        "requests by `rows` and optionally `columns`, suppressed for k survivors.",
    )
    async def statistics(
        self,
        info: Info[HubContext, None],
        measure: Measure,
        rows: Dimension,
        columns: Dimension | None = None,
    ) -> StatisticsTable:
        table = await service.statistics_table(
            info.context.db,
            info.context.cipher,
            info.context.actor,
            measure,
            rows,
            columns,
            statistics_k(info.context.request),
        )
        return StatisticsTable.from_table(table)
