"""Incident groups and group repatriations in GraphQL: translation only."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry.types import Info

from cases import group_repatriation as outings
from cases import groups as service
from cases.group_models import GroupRepatriation as OutingRow
from cases.group_rules import IncidentKind
from cases.paging import encode_cursor
from cases.referral_rules import Urgency
from cases.repatriation import TravelPlan
from cases.repatriation_rules import Assistance, DocumentHeld, Situation
from consent.rules import DataCategory
from schema.cases import Case, requested_survivor_fields
from schema.context import HubContext
from schema.paging import PageInfo
from schema.permissions import requires
from schema.repatriation import RepatriationRequest, TravelPlanInput, shown

strawberry.enum(IncidentKind, name="IncidentKind")


@strawberry.type(
    description="Survivors of one incident. Its members see the group, its kind, country and "
    "size; each case in it only as the case filter allows (owner, party, consent)."
)
class IncidentGroup:
    id: strawberry.ID
    reference: str
    kind: IncidentKind
    country: str
    created_by: strawberry.ID
    member_ids: list[strawberry.ID]
    size: int = strawberry.field(description="How many cases the group holds (not which).")
    created_at: datetime
    case_ids: strawberry.Private[list[str]]

    @classmethod
    def from_view(cls, view: service.GroupView) -> Self:
        row = view.group
        return cls(
            id=strawberry.ID(row.id),
            reference=row.reference,
            kind=IncidentKind(row.kind),
            country=row.country,
            created_by=strawberry.ID(row.created_by_organization_id),
            member_ids=[strawberry.ID(m) for m in view.members],
            size=len(view.case_ids),
            created_at=row.created_at,
            case_ids=view.case_ids,
        )

    @strawberry.field(
        description="The group's cases the caller may see, as it may see them: the same "
        "filter as `case(id:)`, one row at a time; the rest are absent."
    )
    async def cases(self, info: Info[HubContext, None]) -> list[Case]:
        wanted = requested_survivor_fields(info)
        views = await info.context.loaders.case_views.load_many(
            [(case_id, wanted) for case_id in self.case_ids]
        )
        return [Case.from_view(v) for v in views if v is not None]


@strawberry.type
class IncidentGroupEdge:
    cursor: str
    node: IncidentGroup


@strawberry.type
class IncidentGroupConnection:
    edges: list[IncidentGroupEdge]
    page_info: PageInfo


@strawberry.type(
    description="A survivor held back from a group repatriation on her own: her case id and "
    "why, never any of her fields. Seen by every party to the group repatriation."
)
class HeldMember:
    case_id: strawberry.ID
    code: str = strawberry.field(description="The refusal's code: CONSENT_REQUIRED.")
    reason: str = strawberry.field(
        description="Why, as a code: CONSENT_DOES_NOT_COVER_PARTIES (her consent does not "
        "cover the embassy and the reception organisation for REPATRIATION)."
    )
    held_at: datetime


@strawberry.type(
    description="Survivors of a group brought home together: one embassy, one reception "
    "organisation, one travel plan, and a repatriation request per survivor under her own "
    "consent. Seen by the requester, the embassy and the reception organisation."
)
class GroupRepatriation:
    id: strawberry.ID
    group_id: strawberry.ID
    requester_id: strawberry.ID
    embassy_id: strawberry.ID
    reception_id: strawberry.ID
    created_at: datetime

    @classmethod
    def from_row(cls, row: OutingRow) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            group_id=strawberry.ID(row.group_id),
            requester_id=strawberry.ID(row.requester_organization_id),
            embassy_id=strawberry.ID(row.embassy_organization_id),
            reception_id=strawberry.ID(row.reception_organization_id),
            created_at=row.created_at,
        )

    @strawberry.field(description="Each survivor's own request, as the caller may read it.")
    async def requests(self, info: Info[HubContext, None]) -> list[RepatriationRequest]:
        rows = await outings.member_requests(info.context.db, str(self.id))
        return await shown(info, rows)

    @strawberry.field(
        description="Survivors held back on their own (no consent for the parties): each as "
        "her case id and reason only. Gone once a retried request brings her in."
    )
    async def held(self, info: Info[HubContext, None]) -> list[HeldMember]:
        rows = await outings.held_members(info.context.db, str(self.id))
        return [
            HeldMember(
                case_id=strawberry.ID(r.case_id), code=r.code, reason=r.reason, held_at=r.held_at
            )
            for r in rows
        ]

    @strawberry.field(description="The incident group these survivors belong to.")
    async def group(self, info: Info[HubContext, None]) -> IncidentGroup | None:
        ctx = info.context
        if not ctx.actor.has(service.READ_SCOPE):
            return None
        view = await service.get_group(ctx.db, ctx.actor, str(self.group_id))
        return IncidentGroup.from_view(view)


@strawberry.type
class RefusedCase:
    case_id: strawberry.ID
    code: str = strawberry.field(description="CONSENT_REQUIRED or FORBIDDEN.")
    reason: str


@strawberry.type
class GroupRepatriationResult:
    group_repatriation: GroupRepatriation
    refused: list[RefusedCase] = strawberry.field(
        description="Survivors left out, each on her own: her consent does not cover the "
        "embassy and the reception organisation for REPATRIATION."
    )


@strawberry.input
class CreateIncidentGroupInput:
    kind: IncidentKind
    country: str = strawberry.field(description="Where the incident happened (ISO 3166-1).")
    idempotency_key: str
    member_organization_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class RequestGroupRepatriationInput:
    group_id: strawberry.ID
    embassy_id: strawberry.ID
    receiving_organization_id: strawberry.ID
    current_country: str
    situation: Situation
    documents_held: list[DocumentHeld]
    assistance_needed: list[Assistance]
    urgency: Urgency
    idempotency_key: str
    case_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Unset: every case of the caller's in the group."
    )
    acknowledge_by: datetime | None = None
    notes: str | None = None
    notes_category: DataCategory | None = None


_CASES_READ = [requires("cases:read")]
_CASES_WRITE = [requires("cases:write")]
_REPATRIATION_READ = [requires("repatriation:read")]
_REPATRIATION_WRITE = [requires("repatriation:write")]


@strawberry.type
class GroupQueries:
    @strawberry.field(permission_classes=_CASES_READ)
    async def incident_group(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> IncidentGroup:
        view = await service.get_group(info.context.db, info.context.actor, str(id))
        return IncidentGroup.from_view(view)

    @strawberry.field(permission_classes=_CASES_READ, description="Groups the caller is in.")
    async def incident_groups(
        self, info: Info[HubContext, None], first: int = 20, after: str | None = None
    ) -> IncidentGroupConnection:
        views, has_next = await service.list_groups(
            info.context.db, info.context.actor, first, after
        )
        edges = [
            IncidentGroupEdge(cursor=encode_cursor(v.group), node=IncidentGroup.from_view(v))
            for v in views
        ]
        return IncidentGroupConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(permission_classes=_REPATRIATION_READ)
    async def group_repatriation(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> GroupRepatriation:
        row = await outings.get_outing(info.context.db, info.context.actor, str(id))
        return GroupRepatriation.from_row(row)


@strawberry.type
class GroupMutations:
    @strawberry.mutation(permission_classes=_CASES_WRITE)
    async def create_incident_group(
        self, info: Info[HubContext, None], input: CreateIncidentGroupInput
    ) -> IncidentGroup:
        ctx = info.context
        row = await service.create_group(
            ctx.db,
            ctx.actor,
            service.NewGroup(
                kind=input.kind,
                country=input.country,
                member_organization_ids=[str(m) for m in input.member_organization_ids],
                idempotency_key=input.idempotency_key,
            ),
        )
        view = await service.get_group(ctx.db, ctx.actor, row.id)
        return IncidentGroup.from_view(view)

    @strawberry.mutation(permission_classes=_CASES_WRITE, description="By the case's owner.")
    async def add_case_to_group(
        self, info: Info[HubContext, None], group_id: strawberry.ID, case_id: strawberry.ID
    ) -> IncidentGroup:
        ctx = info.context
        await service.add_case(ctx.db, ctx.actor, str(group_id), str(case_id))
        view = await service.get_group(ctx.db, ctx.actor, str(group_id))
        return IncidentGroup.from_view(view)

    @strawberry.mutation(permission_classes=_REPATRIATION_WRITE)
    async def request_group_repatriation(
        self, info: Info[HubContext, None], input: RequestGroupRepatriationInput
    ) -> GroupRepatriationResult:
        ctx = info.context
        result = await outings.request_group_repatriation(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            outings.NewGroupRepatriation(
                group_id=str(input.group_id),
                embassy_id=str(input.embassy_id),
                reception_organization_id=str(input.receiving_organization_id),
                current_country=input.current_country,
                situation=input.situation,
                documents_held=input.documents_held,
                assistance_needed=input.assistance_needed,
                urgency=input.urgency,
                idempotency_key=input.idempotency_key,
                case_ids=[str(c) for c in input.case_ids] if input.case_ids is not None else None,
                acknowledge_by=input.acknowledge_by,
                notes=input.notes,
                notes_category=input.notes_category,
            ),
        )
        return GroupRepatriationResult(
            group_repatriation=GroupRepatriation.from_row(result.group_repatriation),
            refused=[
                RefusedCase(case_id=strawberry.ID(r.case_id), code=r.code, reason=r.reason)
                for r in result.refused
            ],
        )

    @strawberry.mutation(
        permission_classes=_REPATRIATION_WRITE,
        description="One travel plan for every survivor of the group repatriation still under "
        "way; by the embassy or the requester.",
    )
    async def record_group_travel_plan(
        self, info: Info[HubContext, None], id: strawberry.ID, input: TravelPlanInput
    ) -> GroupRepatriation:
        ctx = info.context
        await outings.record_group_travel_plan(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(id),
            TravelPlan(travel_date=input.date, route=input.route, escort=input.escort),
        )
        row = await outings.get_outing(ctx.db, ctx.actor, str(id))
        return GroupRepatriation.from_row(row)
