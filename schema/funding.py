"""Funders, costs and the cost report in GraphQL: translation only. No survivor data here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from cases import funding as service
from cases.funding import CostReport as ReportRow
from cases.funding import Funding as FundingRow
from cases.funding import SubjectKind
from cases.funding_removal import remove_funder
from cases.repatriation_rules import CostItem
from schema.context import HubContext
from schema.permissions import requires_any

strawberry.enum(SubjectKind, name="FundedSubjectKind")


@strawberry.type
class CurrencyTotal:
    currency: str
    amount: str = strawberry.field(description='Decimal, two places, e.g. "250.00".')


@strawberry.type
class Funder:
    organization_id: strawberry.ID
    named_by: strawberry.ID
    named_at: datetime


@strawberry.type
class FundedCost:
    id: strawberry.ID
    item: CostItem
    amount: str = strawberry.field(description='Decimal, two places, e.g. "250.00".')
    currency: str
    incurred_on: date
    funder_id: strawberry.ID
    recorded_at: datetime


@strawberry.type(
    description="What a funder sees of what it funds: the subject's kind, id, status and "
    "organisations, its funders and costs, totals per currency. Never survivor data."
)
class Funding:
    subject_kind: SubjectKind
    subject_id: strawberry.ID
    status: str
    party_ids: list[strawberry.ID]
    funders: list[Funder]
    costs: list[FundedCost]
    totals: list[CurrencyTotal]

    @classmethod
    def from_row(cls, row: FundingRow) -> Self:
        return cls(
            subject_kind=row.subject.kind,
            subject_id=strawberry.ID(row.subject.id),
            status=row.subject.status,
            party_ids=[strawberry.ID(p) for p in sorted(row.subject.parties)],
            funders=[
                Funder(
                    organization_id=strawberry.ID(f.organization_id),
                    named_by=strawberry.ID(f.named_by_organization_id),
                    named_at=f.named_at,
                )
                for f in row.funders
            ],
            costs=[
                FundedCost(
                    id=strawberry.ID(c.id),
                    item=CostItem(c.item),
                    amount=c.amount,
                    currency=c.currency,
                    incurred_on=c.incurred_on,
                    funder_id=strawberry.ID(c.funder_organization_id),
                    recorded_at=c.recorded_at,
                )
                for c in row.costs
            ],
            totals=[CurrencyTotal(currency=c, amount=f"{a:.2f}") for c, a in row.totals],
        )


@strawberry.type
class CostReportLine:
    funder_id: strawberry.ID
    subject_kind: SubjectKind
    item: CostItem
    currency: str
    amount: str


@strawberry.type(description="Costs incurred in a period, per funder, subject kind and item.")
class CostReport:
    funder_id: strawberry.ID | None = strawberry.field(description="null: every funder.")
    start: date = strawberry.field(name="from")
    end: date = strawberry.field(name="to")
    lines: list[CostReportLine]
    totals: list[CurrencyTotal]

    @classmethod
    def from_row(cls, row: ReportRow) -> Self:
        return cls(
            funder_id=strawberry.ID(row.funder_id) if row.funder_id else None,
            start=row.start,
            end=row.end,
            lines=[
                CostReportLine(
                    funder_id=strawberry.ID(line.funder_id),
                    subject_kind=SubjectKind(line.subject_kind),
                    item=CostItem(line.item),
                    currency=line.currency,
                    amount=f"{line.amount:.2f}",
                )
                for line in row.lines
            ],
            totals=[CurrencyTotal(currency=c, amount=f"{a:.2f}") for c, a in row.totals],
        )


@strawberry.input
class RecordCostInput:
    item: CostItem
    amount: str
    currency: str
    incurred_on: date | None = strawberry.field(default=None, description="Default: today.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key records nothing new."
    )


# Each subject kind has its own read and write scope (``cases.funding.SUBJECTS``), checked
# where the subject loads; the root asks for one of them.
_READ = [requires_any("repatriation:read", "cases:read")]
_WRITE = [requires_any("repatriation:write", "cases:write")]


@strawberry.type
class FundingQueries:
    @strawberry.field(
        permission_classes=_READ,
        description="For the subject's parties and its named funders.",
    )
    async def funding(
        self, info: Info[HubContext, None], subject_kind: SubjectKind, subject_id: strawberry.ID
    ) -> Funding | None:
        row = await service.funding(
            info.context.db, info.context.actor, subject_kind, str(subject_id)
        )
        return Funding.from_row(row)

    @strawberry.field(
        permission_classes=_READ,
        description="Costs incurred from `from` to `to` (both included). The coordinator sees "
        "every funder (or one); a member its own only.",
    )
    async def cost_report(
        self,
        info: Info[HubContext, None],
        start: Annotated[date, strawberry.argument(name="from")],
        end: Annotated[date, strawberry.argument(name="to")],
        funder_organization_id: strawberry.ID | None = None,
    ) -> CostReport:
        row = await service.cost_report(
            info.context.db,
            info.context.actor,
            str(funder_organization_id) if funder_organization_id else None,
            start,
            end,
        )
        return CostReport.from_row(row)


@strawberry.type
class FundingMutations:
    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the organisation that manages the subject (the requester of a "
        "repatriation request, the case owner of a reintegration plan).",
    )
    async def name_funder(
        self,
        info: Info[HubContext, None],
        subject_kind: SubjectKind,
        subject_id: strawberry.ID,
        funder_organization_id: strawberry.ID,
    ) -> Funding:
        row = await service.name_funder(
            info.context.db,
            info.context.actor,
            subject_kind,
            str(subject_id),
            str(funder_organization_id),
        )
        return Funding.from_row(row)

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the organisation that manages the subject: removes a funder that has "
        "recorded no cost here (CONFLICT once it has: its costs stay on record).",
    )
    async def remove_funder(
        self,
        info: Info[HubContext, None],
        subject_kind: SubjectKind,
        subject_id: strawberry.ID,
        funder_organization_id: strawberry.ID,
    ) -> Funding:
        row = await remove_funder(
            info.context.db,
            info.context.actor,
            subject_kind,
            str(subject_id),
            str(funder_organization_id),
        )
        return Funding.from_row(row)

    @strawberry.mutation(
        permission_classes=_WRITE, description="By a named funder, or a party paying itself."
    )
    async def record_cost(
        self,
        info: Info[HubContext, None],
        subject_kind: SubjectKind,
        subject_id: strawberry.ID,
        input: RecordCostInput,
    ) -> Funding:
        ctx = info.context
        await service.record_cost(
            ctx.db,
            ctx.actor,
            subject_kind,
            str(subject_id),
            service.NewCost(
                item=input.item,
                amount=input.amount,
                currency=input.currency,
                incurred_on=input.incurred_on,
                idempotency_key=input.idempotency_key,
            ),
        )
        row = await service.funding(ctx.db, ctx.actor, subject_kind, str(subject_id), reading=False)
        return Funding.from_row(row)
