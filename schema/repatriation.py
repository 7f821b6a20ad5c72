"""Repatriation requests in GraphQL: translation only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

import orjson
import strawberry
from strawberry.types import Info

from cases import repatriation as service
from cases.deadlines import repatriation_overdue
from cases.document_rules import SubjectType
from cases.models import RepatriationRequest as RequestRow
from cases.paging import encode_cursor
from cases.referral_reads import CaseWants, Edges, edges_of
from cases.referral_rules import Urgency
from cases.repatriation_rules import (
    Assistance,
    CostItem,
    DocumentHeld,
    RepatriationAction,
    RepatriationStatus,
    Situation,
)
from cases.text_views import REPATRIATION_TEXTS, RepatriationView, repatriation_views
from consent import disclosure
from consent.rules import DataCategory
from schema.cases import SURVIVOR_FIELDS, Case, WithheldField
from schema.context import HubContext
from schema.disclosures import collector
from schema.documents import DESCRIPTION as DOCUMENTS_DESCRIPTION
from schema.documents import AttachedDocumentConnection, documents_of
from schema.organizations import Organization
from schema.paging import PageInfo
from schema.permissions import requires
from schema.referrals import ReferralBox
from schema.selection import fields_at
from store.types import utcnow

for enum, name in (
    (RepatriationStatus, "RepatriationStatus"),
    (Situation, "Situation"),
    (DocumentHeld, "DocumentHeld"),
    (Assistance, "AssistanceNeeded"),
    (CostItem, "CostItem"),
):
    strawberry.enum(enum, name=name)


def _case(edges: Edges, case_id: str) -> Case | None:
    view = edges.cases.get(case_id)
    return Case.from_view(view) if view is not None else None


def _organization(edges: Edges, organization_id: str) -> Organization | None:
    row = edges.organizations.get(organization_id)
    return Organization.from_row(row) if row is not None else None


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


@strawberry.type(
    description="Seen by the requester, the embassy and the reception organisation. Notes, "
    "travel plan and history notes are survivor data: shown as the survivor's consent allows "
    "(for REPATRIATION), otherwise null and in `withheld`."
)
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
    held_for_consent: bool = strawberry.field(
        description="On hold until the survivor's consent covers this request again."
    )
    version: int
    notes: str | None
    acknowledge_by: datetime
    overdue: bool
    travel_plan: TravelPlan | None
    created_at: datetime
    updated_at: datetime
    withheld: list[WithheldField]
    history: list[RepatriationChange]
    case: Case | None = strawberry.field(
        description="The case as the caller may see it; null once it may not."
    )
    requester: Organization | None
    embassy: Organization | None
    reception: Organization | None

    @classmethod
    def from_view(cls, view: RepatriationView, edges: Edges) -> Self:
        row = view.request
        plan_text = view.text("travel_plan")
        plan = orjson.loads(plan_text) if plan_text else None
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
            held_for_consent=row.held_for_consent,
            version=row.version,
            notes=view.text("notes"),
            acknowledge_by=row.acknowledge_by,
            overdue=repatriation_overdue(row, utcnow()),
            travel_plan=TravelPlan(
                date=date.fromisoformat(plan["date"]),
                route=plan["route"],
                escort=plan.get("escort") or None,
            )
            if plan
            else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            withheld=[
                WithheldField(field=w.field, category=w.category, reason=w.reason)
                for w in view.withheld
            ],
            history=[
                RepatriationChange(
                    action=r.action,
                    from_status=RepatriationStatus(r.from_status) if r.from_status else None,
                    to_status=RepatriationStatus(r.to_status),
                    by=strawberry.ID(r.by_organization_id) if r.by_organization_id else None,
                    at=r.at,
                    version=r.version,
                    note=view.text(f"history:{r.id}"),
                )
                for r in view.history
            ],
            case=_case(edges, row.case_id),
            requester=_organization(edges, row.requester_organization_id),
            embassy=_organization(edges, row.embassy_organization_id),
            reception=_organization(edges, row.reception_organization_id),
        )

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

    @strawberry.field(description=DOCUMENTS_DESCRIPTION)
    async def documents(
        self, info: Info[HubContext, None], first: int | None = 20, after: str | None = None
    ) -> AttachedDocumentConnection | None:
        return await documents_of(
            info,
            SubjectType.REPATRIATION_REQUEST,
            str(self.id),
            20 if first is None else first,
            after,
        )


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
    notes_category: DataCategory | None = strawberry.field(
        default=None, description="What the notes speak of; unset: HEALTH, the strictest."
    )


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
_NOTE_CATEGORY = strawberry.argument(
    description="What the note speaks of; unset: HEALTH, the strictest."
)


async def shown(
    info: Info[HubContext, None], rows: list[RequestRow], *path: str
) -> list[RepatriationRequest]:
    """Requests as the caller may read them: one batch of consent decisions per list,
    opening only what the operation selected under ``path``; the case and the
    organisations come with each request as plain objects, decided once per row."""
    ctx = info.context
    names = fields_at(info, *path)
    views = await repatriation_views(
        ctx.db, ctx.actor, ctx.cipher, rows, names & REPATRIATION_TEXTS
    )
    case = None
    if "case" in names:
        below = fields_at(info, *path, "case")
        case = CaseWants(fields=below & SURVIVOR_FIELDS, withheld="withheld" in below)
    async with ctx.reader.session() as session:
        edges = await edges_of(
            session,
            ctx.actor,
            ctx.cipher,
            [
                o
                for r in rows
                for o in (
                    r.requester_organization_id,
                    r.embassy_organization_id,
                    r.reception_organization_id,
                )
            ],
            [r.case_id for r in rows],
            bool(names & {"requester", "embassy", "reception"}),
            case,
        )
    disclose = collector()
    if disclose is not None:
        disclose(edges.disclosures)
    else:
        await disclosure.record(ctx.db, edges.disclosures)
    return [RepatriationRequest.from_view(v, edges) for v in views]


@strawberry.type
class RepatriationQueries:
    @strawberry.field(permission_classes=_READ)
    async def repatriation_request(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> RepatriationRequest | None:
        row = await service.get_request(info.context.db, info.context.actor, str(id))
        return (await shown(info, [row]))[0]

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
        nodes = await shown(info, rows, "edges", "node")
        edges = [
            RepatriationEdge(cursor=encode_cursor(r), node=node)
            for r, node in zip(rows, nodes, strict=True)
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
    note_category: DataCategory | None = None,
) -> RepatriationRequest:
    ctx = info.context
    row = await service.act(
        ctx.db,
        ctx.actor,
        ctx.cipher,
        str(id),
        action,
        note=note,
        expected_version=expected_version,
        note_category=note_category,
    )
    return (await shown(info, [row]))[0]


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
                notes_category=input.notes_category,
            ),
        )
        return (await shown(info, [row]))[0]

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
        note_category: Annotated[DataCategory | None, _NOTE_CATEGORY] = None,
    ) -> RepatriationRequest:
        ctx = info.context
        row = await service.update_status(
            ctx.db, ctx.actor, ctx.cipher, str(id), status, note, expected_version, note_category
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(permission_classes=_WRITE, description="By the reception organisation.")
    async def confirm_handover(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        note: str | None = None,
        expected_version: int | None = None,
        note_category: Annotated[DataCategory | None, _NOTE_CATEGORY] = None,
    ) -> RepatriationRequest:
        return await _act(
            info, id, RepatriationAction.CONFIRM_HANDOVER, note, expected_version, note_category
        )

    @strawberry.mutation(permission_classes=_WRITE)
    async def reject_repatriation(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _NOTE_CATEGORY] = None,
    ) -> RepatriationRequest:
        return await _act(
            info, id, RepatriationAction.REJECT, reason, expected_version, reason_category
        )

    @strawberry.mutation(permission_classes=_WRITE)
    async def cancel_repatriation(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
        reason_category: Annotated[DataCategory | None, _NOTE_CATEGORY] = None,
    ) -> RepatriationRequest:
        return await _act(
            info, id, RepatriationAction.CANCEL, reason, expected_version, reason_category
        )

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
            info.context.cipher,
            str(id),
            service.TravelPlan(travel_date=input.date, route=input.route, escort=input.escort),
            expected_version,
        )
        return (await shown(info, [row]))[0]

    @strawberry.mutation(permission_classes=_WRITE, description="Recorded by whoever pays.")
    async def record_repatriation_cost(
        self, info: Info[HubContext, None], id: strawberry.ID, input: CostInput
    ) -> RepatriationRequest:
        ctx = info.context
        await service.record_cost(
            ctx.db, ctx.actor, str(id), input.item, input.amount, input.currency
        )
        row = await service.get_request(ctx.db, ctx.actor, str(id), reading=False)
        return (await shown(info, [row]))[0]
