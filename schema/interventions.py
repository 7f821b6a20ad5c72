"""Intervention requests in GraphQL: translation only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from cases import interventions as service
from cases.intervention_models import InterventionRequest as RequestRow
from cases.intervention_rules import InterventionOutcome, InterventionStatus, Reporter
from cases.intervention_views import INTERVENTION_TEXTS, InterventionView, intervention_views
from cases.paging import encode_cursor
from cases.referral_rules import Urgency
from cases.repatriation import NewRepatriation
from cases.repatriation_rules import Assistance, DocumentHeld, Situation
from consent.rules import DataCategory
from schema.cases import Case, WithheldField, requested_survivor_fields
from schema.context import HubContext
from schema.organizations import Organization
from schema.paging import PageInfo
from schema.permissions import requires
from schema.referrals import ReferralBox
from schema.repatriation import RepatriationRequest, shown
from schema.selection import fields_at

for enum, name in (
    (InterventionStatus, "InterventionStatus"),
    (InterventionOutcome, "InterventionOutcome"),
    (Reporter, "InterventionReporter"),
):
    strawberry.enum(enum, name=name)


@strawberry.type
class InterventionChange:
    action: str
    from_status: InterventionStatus | None
    to_status: InterventionStatus
    by: strawberry.ID | None
    at: datetime
    version: int
    note: str | None


@strawberry.type(
    description="A request to an embassy to locate and assist a person still abroad. Seen by "
    "the requester and the embassy. The last known location (LOCATION) and history notes are "
    "shown as consent allows (for REPATRIATION), otherwise null and in `withheld`."
)
class InterventionRequest:
    id: strawberry.ID
    case_id: strawberry.ID
    requester_id: strawberry.ID
    embassy_id: strawberry.ID
    current_country: str
    reported_by: Reporter
    urgency: Urgency
    status: InterventionStatus
    outcome: InterventionOutcome | None = strawberry.field(
        description="What the embassy found last: LOCATED, ASSISTED, RESCUED or NOT_FOUND."
    )
    version: int
    last_known_location: str | None
    acknowledge_by: datetime
    overdue: bool
    repatriation_request_id: strawberry.ID | None = strawberry.field(
        description="The repatriation request this intervention led into."
    )
    created_at: datetime
    updated_at: datetime
    withheld: list[WithheldField]
    history: list[InterventionChange]

    @classmethod
    def from_view(cls, view: InterventionView) -> Self:
        row = view.request
        return cls(
            id=strawberry.ID(row.id),
            case_id=strawberry.ID(row.case_id),
            requester_id=strawberry.ID(row.requester_organization_id),
            embassy_id=strawberry.ID(row.embassy_organization_id),
            current_country=row.current_country,
            reported_by=Reporter(row.reported_by),
            urgency=Urgency(row.urgency),
            status=InterventionStatus(row.status),
            outcome=InterventionOutcome(row.outcome) if row.outcome else None,
            version=row.version,
            last_known_location=view.text("last_known_location"),
            acknowledge_by=row.acknowledge_by,
            overdue=row.overdue,
            repatriation_request_id=strawberry.ID(row.repatriation_request_id)
            if row.repatriation_request_id
            else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            withheld=[
                WithheldField(field=w.field, category=w.category, reason=w.reason)
                for w in view.withheld
            ],
            history=[
                InterventionChange(
                    action=r.action,
                    from_status=InterventionStatus(r.from_status) if r.from_status else None,
                    to_status=InterventionStatus(r.to_status),
                    by=strawberry.ID(r.by_organization_id) if r.by_organization_id else None,
                    at=r.at,
                    version=r.version,
                    note=view.text(f"history:{r.id}"),
                )
                for r in view.history
            ],
        )

    @strawberry.field(description="The case as the caller may see it; null once it may not.")
    async def case(self, info: Info[HubContext, None]) -> Case | None:
        wanted = requested_survivor_fields(info)
        view = await info.context.loaders.case_views.load((str(self.case_id), wanted))
        return Case.from_view(view) if view else None

    @strawberry.field
    async def embassy(self, info: Info[HubContext, None]) -> Organization | None:
        row = await info.context.loaders.organizations.load(str(self.embassy_id))
        return Organization.from_row(row) if row else None


@strawberry.type
class InterventionEdge:
    cursor: str
    node: InterventionRequest


@strawberry.type
class InterventionConnection:
    edges: list[InterventionEdge]
    page_info: PageInfo


@strawberry.input
class RequestInterventionInput:
    case_id: strawberry.ID
    embassy_id: strawberry.ID
    current_country: str = strawberry.field(description="Where the person is thought to be.")
    reported_by: Reporter
    urgency: Urgency
    idempotency_key: str
    last_known_location: str | None = strawberry.field(
        default=None, description="Survivor data (LOCATION): sealed, released by consent."
    )
    acknowledge_by: datetime | None = None


@strawberry.input(description="The repatriation a found person leads into: same case, embassy.")
class RepatriationFromInterventionInput:
    receiving_organization_id: strawberry.ID
    situation: Situation
    documents_held: list[DocumentHeld]
    assistance_needed: list[Assistance]
    urgency: Urgency
    idempotency_key: str
    acknowledge_by: datetime | None = None
    notes: str | None = None
    notes_category: DataCategory | None = None


_READ = [requires("repatriation:read")]
_WRITE = [requires("repatriation:write")]
_NOTE_CATEGORY = strawberry.argument(
    description="What the note speaks of; unset: HEALTH, the strictest."
)


async def shown_interventions(
    info: Info[HubContext, None], rows: list[RequestRow], *path: str
) -> list[InterventionRequest]:
    ctx = info.context
    wanted = fields_at(info, *path) & INTERVENTION_TEXTS
    views = await intervention_views(ctx.db, ctx.actor, ctx.cipher, rows, wanted)
    return [InterventionRequest.from_view(v) for v in views]


@strawberry.type
class InterventionQueries:
    @strawberry.field(permission_classes=_READ)
    async def intervention_request(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> InterventionRequest | None:
        row = await service.get_intervention(info.context.db, info.context.actor, str(id))
        return (await shown_interventions(info, [row]))[0]

    @strawberry.field(
        permission_classes=_READ,
        description="INBOX: addressed to the caller as embassy; OUTBOX: its own. Newest first.",
    )
    async def intervention_requests(
        self,
        info: Info[HubContext, None],
        box: ReferralBox,
        status: InterventionStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> InterventionConnection:
        rows, has_next = await service.list_interventions(
            info.context.db, info.context.actor, box.value, status, first, after
        )
        nodes = await shown_interventions(info, rows, "edges", "node")
        edges = [
            InterventionEdge(cursor=encode_cursor(r), node=node)
            for r, node in zip(rows, nodes, strict=True)
        ]
        return InterventionConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )


@strawberry.type
class InterventionMutations:
    @strawberry.mutation(permission_classes=_WRITE)
    async def request_intervention(
        self, info: Info[HubContext, None], input: RequestInterventionInput
    ) -> InterventionRequest:
        ctx = info.context
        row = await service.request_intervention(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            service.NewIntervention(
                case_id=str(input.case_id),
                embassy_id=str(input.embassy_id),
                current_country=input.current_country,
                reported_by=input.reported_by,
                urgency=input.urgency,
                idempotency_key=input.idempotency_key,
                last_known_location=input.last_known_location,
                acknowledge_by=input.acknowledge_by,
            ),
        )
        return (await shown_interventions(info, [row]))[0]

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="The embassy acknowledges and records what it found (LOCATED, ASSISTED, "
        "RESCUED, NOT_FOUND with a note); either side closes; the requester cancels.",
    )
    async def update_intervention(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        status: InterventionStatus,
        note: str | None = None,
        expected_version: int | None = None,
        note_category: Annotated[DataCategory | None, _NOTE_CATEGORY] = None,
    ) -> InterventionRequest:
        ctx = info.context
        row = await service.update_status(
            ctx.db, ctx.actor, ctx.cipher, str(id), status, note, expected_version, note_category
        )
        return (await shown_interventions(info, [row]))[0]

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the requester, once the person is LOCATED, ASSISTED or RESCUED.",
    )
    async def request_repatriation_from_intervention(
        self,
        info: Info[HubContext, None],
        intervention_id: strawberry.ID,
        input: RepatriationFromInterventionInput,
        expected_version: int | None = None,
    ) -> RepatriationRequest:
        ctx = info.context
        row = await service.repatriate_from_intervention(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(intervention_id),
            NewRepatriation(
                case_id="",
                embassy_id="",
                reception_organization_id=str(input.receiving_organization_id),
                current_country="",
                situation=input.situation,
                documents_held=input.documents_held,
                assistance_needed=input.assistance_needed,
                urgency=input.urgency,
                idempotency_key=input.idempotency_key,
                acknowledge_by=input.acknowledge_by,
                notes=input.notes,
                notes_category=input.notes_category,
            ),
            expected_version,
        )
        return (await shown(info, [row]))[0]
