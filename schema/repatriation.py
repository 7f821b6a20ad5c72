"""Repatriation requests in GraphQL: translation only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry
from strawberry.types import Info

from cases import repatriation as service
from cases.models import RepatriationRequest as RequestRow
from cases.paging import encode_cursor
from cases.referral_rules import Urgency
from cases.repatriation_rules import (
    Assistance,
    CostItem,
    DocumentHeld,
    RepatriationAction,
    RepatriationStatus,
    Situation,
)
from schema.cases import Case, requested_survivor_fields
from schema.context import HubContext
from schema.organizations import Organization
from schema.paging import PageInfo
from schema.permissions import requires
from schema.referrals import ReferralBox

for enum, name in (
    (RepatriationStatus, "RepatriationStatus"),
    (Situation, "Situation"),
    (DocumentHeld, "DocumentHeld"),
    (Assistance, "AssistanceNeeded"),
    (CostItem, "CostItem"),
):
    strawberry.enum(enum, name=name)


@strawberry.type
class TravelPlan:
    date: date
    route: str
    escort: str | None


@strawberry.type
class RepatriationCost:
    item: CostItem
    amount: str = strawberry.field(description='Decimal, two places, e.g. "250.00".')
    currency: str
    paid_by: strawberry.ID
    recorded_at: datetime


@strawberry.type
class RepatriationChange:
    action: str
    from_status: RepatriationStatus | None
    to_status: RepatriationStatus
    by: strawberry.ID | None
    at: datetime
    version: int
    note: str | None


@strawberry.type(description="Seen by the requester, the embassy and the reception organisation.")
class RepatriationRequest:
    id: strawberry.ID
    case_id: strawberry.ID
    requester_id: strawberry.ID
    embassy_id: strawberry.ID
    reception_id: strawberry.ID
    current_country: str
    situation: Situation
    documents_held: list[DocumentHeld]
    assistance_needed: list[Assistance]
    urgency: Urgency
    status: RepatriationStatus
    held_from: RepatriationStatus | None
    version: int
    notes: str | None
    acknowledge_by: datetime
    overdue: bool
    travel_plan: TravelPlan | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RequestRow, info: Info[HubContext, None]) -> Self:
        plan = row.travel_plan
        return cls(
            id=strawberry.ID(row.id),
            case_id=strawberry.ID(row.case_id),
            requester_id=strawberry.ID(row.requester_organization_id),
            embassy_id=strawberry.ID(row.embassy_organization_id),
            reception_id=strawberry.ID(row.reception_organization_id),
            current_country=row.current_country,
            situation=Situation(row.situation),
            documents_held=[DocumentHeld(d) for d in row.documents_held],
            assistance_needed=[Assistance(a) for a in row.assistance_needed],
            urgency=Urgency(row.urgency),
            status=RepatriationStatus(row.status),
            held_from=RepatriationStatus(row.held_from) if row.held_from else None,
            version=row.version,
            notes=info.context.cipher.open(
                row.notes_sealed, table="repatriation_requests", column="notes", row_id=row.id
            )
            if row.notes_sealed
            else None,
            acknowledge_by=row.acknowledge_by,
            overdue=row.overdue,
            travel_plan=TravelPlan(
                date=date.fromisoformat(plan["date"]),
                route=plan["route"],
                escort=plan.get("escort") or None,
            )
            if plan
            else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The case as the caller may see it; null once it may not.")
    async def case(self, info: Info[HubContext, None]) -> Case | None:
        wanted = requested_survivor_fields(info)
        view = await info.context.loaders.case_views.load((str(self.case_id), wanted))
        return Case.from_view(view) if view else None

    @strawberry.field
    async def requester(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.requester_id))
        return Organization.from_row(row) if row else None

    @strawberry.field
    async def embassy(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.embassy_id))
        return Organization.from_row(row) if row else None

    @strawberry.field
    async def reception(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.reception_id))
        return Organization.from_row(row) if row else None

    @strawberry.field
    async def history(self, info: Info[HubContext, None]) -> list[RepatriationChange]:
        rows = await info.context.loaders.repatriation_history.load(str(self.id))
        cipher = info.context.cipher
        return [
            RepatriationChange(
                action=r.action,
                from_status=RepatriationStatus(r.from_status) if r.from_status else None,
                to_status=RepatriationStatus(r.to_status),
                by=strawberry.ID(r.by_organization_id) if r.by_organization_id else None,
                at=r.at,
                version=r.version,
                note=cipher.open(
                    r.note_sealed, table="repatriation_changes", column="note", row_id=r.id
                )
                if r.note_sealed
                else None,
            )
            for r in rows
        ]

    @strawberry.field
    async def costs(self, info: Info[HubContext, None]) -> list[RepatriationCost]:
        rows = await info.context.loaders.repatriation_costs.load(str(self.id))
        return [
            RepatriationCost(
                item=CostItem(c.item),
                amount=c.amount,
                currency=c.currency,
                paid_by=strawberry.ID(c.paid_by_organization_id),
                recorded_at=c.recorded_at,
            )
            for c in rows
        ]


@strawberry.type
class RepatriationEdge:
    cursor: str
    node: RepatriationRequest


@strawberry.type
class RepatriationConnection:
    edges: list[RepatriationEdge]
    page_info: PageInfo


@strawberry.input
class RequestRepatriationInput:
    case_id: strawberry.ID
    embassy_id: strawberry.ID
    receiving_organization_id: strawberry.ID = strawberry.field(
        description="The organisation at home that takes over on arrival."
    )
    current_country: str
    situation: Situation
    documents_held: list[DocumentHeld]
    assistance_needed: list[Assistance]
    urgency: Urgency
    idempotency_key: str
    acknowledge_by: datetime | None = None
    notes: str | None = None


@strawberry.input
class TravelPlanInput:
    date: date
    route: str
    escort: str | None = None


@strawberry.input
class CostInput:
    item: CostItem
    amount: str
    currency: str


_READ = [requires("repatriation:read")]
_WRITE = [requires("repatriation:write")]


@strawberry.type
class RepatriationQueries:
    @strawberry.field(permission_classes=_READ)
    async def repatriation_request(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> RepatriationRequest | None:
        row = await service.get_request(info.context.db, info.context.actor, str(id))
        return RepatriationRequest.from_row(row, info)

    @strawberry.field(
        permission_classes=_READ,
        description="INBOX: addressed to the caller as embassy or reception; OUTBOX: its own. "
        "Newest first: `first` from 1 to 100.",
    )
    async def repatriation_requests(
        self,
        info: Info[HubContext, None],
        box: ReferralBox,
        status: RepatriationStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> RepatriationConnection:
        rows, has_next = await service.list_requests(
            info.context.db, info.context.actor, box.value, status, first, after
        )
        edges = [
            RepatriationEdge(cursor=encode_cursor(r), node=RepatriationRequest.from_row(r, info))
            for r in rows
        ]
        return RepatriationConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )


async def _act(
    info: Info[HubContext, None],
    id: strawberry.ID,
    action: RepatriationAction,
    note: str | None,
    expected_version: int | None,
) -> RepatriationRequest:
    ctx = info.context
    row = await service.act(
        ctx.db, ctx.actor, ctx.cipher, str(id), action, note=note, expected_version=expected_version
    )
    return RepatriationRequest.from_row(row, info)


@strawberry.type
class RepatriationMutations:
    @strawberry.mutation(permission_classes=_WRITE)
    async def request_repatriation(
        self, info: Info[HubContext, None], input: RequestRepatriationInput
    ) -> RepatriationRequest:
        ctx = info.context
        row = await service.request_repatriation(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            service.NewRepatriation(
                case_id=str(input.case_id),
                embassy_id=str(input.embassy_id),
                reception_organization_id=str(input.receiving_organization_id),
                current_country=input.current_country,
                situation=input.situation,
                documents_held=input.documents_held,
                assistance_needed=input.assistance_needed,
                urgency=input.urgency,
                idempotency_key=input.idempotency_key,
                acknowledge_by=input.acknowledge_by,
                notes=input.notes,
            ),
        )
        return RepatriationRequest.from_row(row, info)

    @strawberry.mutation(permission_classes=_WRITE)
    async def acknowledge_repatriation(
        self, info: Info[HubContext, None], id: strawberry.ID, expected_version: int | None = None
    ) -> RepatriationRequest:
        return await _act(info, id, RepatriationAction.ACKNOWLEDGE, None, expected_version)

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="Move to the next status (or ON_HOLD with a note, or back from hold).",
    )
    async def update_repatriation(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        status: RepatriationStatus,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> RepatriationRequest:
        ctx = info.context
        row = await service.update_status(
            ctx.db, ctx.actor, ctx.cipher, str(id), status, note, expected_version
        )
        return RepatriationRequest.from_row(row, info)

    @strawberry.mutation(permission_classes=_WRITE, description="By the reception organisation.")
    async def confirm_handover(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> RepatriationRequest:
        return await _act(info, id, RepatriationAction.CONFIRM_HANDOVER, note, expected_version)

    @strawberry.mutation(permission_classes=_WRITE)
    async def reject_repatriation(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
    ) -> RepatriationRequest:
        return await _act(info, id, RepatriationAction.REJECT, reason, expected_version)

    @strawberry.mutation(permission_classes=_WRITE)
    async def cancel_repatriation(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
    ) -> RepatriationRequest:
        return await _act(info, id, RepatriationAction.CANCEL, reason, expected_version)

    @strawberry.mutation(permission_classes=_WRITE)
    async def record_travel_plan(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        input: TravelPlanInput,
        expected_version: int | None = None,
    ) -> RepatriationRequest:
        row = await service.record_travel_plan(
            info.context.db,
            info.context.actor,
            str(id),
            service.TravelPlan(travel_date=input.date, route=input.route, escort=input.escort),
            expected_version,
        )
        return RepatriationRequest.from_row(row, info)

    @strawberry.mutation(permission_classes=_WRITE, description="Recorded by whoever pays.")
    async def record_repatriation_cost(
        self, info: Info[HubContext, None], id: strawberry.ID, input: CostInput
    ) -> RepatriationRequest:
        ctx = info.context
        await service.record_cost(
            ctx.db, ctx.actor, str(id), input.item, input.amount, input.currency
        )
        row = await service.get_request(ctx.db, ctx.actor, str(id))
        return RepatriationRequest.from_row(row, info)
