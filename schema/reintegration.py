"""Reintegration plans and follow-up visits in GraphQL: translation only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from cases import reintegration as service
from cases import reintegration_views as views
from cases.paging import encode_cursor
from cases.reintegration_rules import (
    PlanStatus,
    ServiceAction,
    ServiceKind,
    ServiceStatus,
    VisitOutcome,
    VisitStatus,
)
from cases.reintegration_views import PlanView
from consent.rules import DataCategory
from schema.cases import WithheldField
from schema.context import HubContext
from schema.paging import PageInfo
from schema.permissions import requires

for enum, name in (
    (ServiceKind, "ReintegrationServiceKind"),
    (ServiceStatus, "ReintegrationServiceStatus"),
    (PlanStatus, "ReintegrationPlanStatus"),
    (VisitStatus, "FollowUpVisitStatus"),
    (VisitOutcome, "FollowUpOutcome"),
):
    strawberry.enum(enum, name=name)


@strawberry.type(description="One service of a plan, given by one provider organisation.")
class ReintegrationService:
    id: strawberry.ID
    kind: ServiceKind
    provider_id: strawberry.ID
    status: ServiceStatus
    end_reason: str | None = strawberry.field(
        description="Why the service ended early: survivor data, released for FOLLOW_UP."
    )
    updated_at: datetime


@strawberry.type(description="A follow-up visit: when it is due, by whom, and what it found.")
class FollowUpVisit:
    id: strawberry.ID
    visitor_id: strawberry.ID
    status: VisitStatus
    due_at: datetime
    overdue: bool
    outcome: VisitOutcome | None
    note: str | None = strawberry.field(
        description="The visit's note (or the reason it was cancelled): survivor data, "
        "released for FOLLOW_UP."
    )
    next_visit_id: strawberry.ID | None
    recorded_at: datetime | None


@strawberry.type(
    description="Seen by the case owner, the providers of its services and its visitors. "
    "Notes and reasons are survivor data: shown as the survivor's consent allows (for "
    "FOLLOW_UP), otherwise null and in `withheld`."
)
class ReintegrationPlan:
    id: strawberry.ID
    case_id: strawberry.ID
    status: PlanStatus
    version: int
    cancel_reason: str | None
    services: list[ReintegrationService]
    visits: list[FollowUpVisit]
    withheld: list[WithheldField]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_view(cls, view: PlanView) -> Self:
        plan = view.state.plan
        return cls(
            id=strawberry.ID(plan.id),
            case_id=strawberry.ID(plan.case_id),
            status=PlanStatus(plan.status),
            version=plan.version,
            cancel_reason=view.text("cancel_reason"),
            services=[
                ReintegrationService(
                    id=strawberry.ID(s.id),
                    kind=ServiceKind(s.kind),
                    provider_id=strawberry.ID(s.provider_organization_id),
                    status=ServiceStatus(s.status),
                    end_reason=view.text(f"service:{s.id}"),
                    updated_at=s.updated_at,
                )
                for s in view.state.services
            ],
            visits=[
                FollowUpVisit(
                    id=strawberry.ID(v.id),
                    visitor_id=strawberry.ID(v.visitor_organization_id),
                    status=VisitStatus(v.status),
                    due_at=v.due_at,
                    overdue=v.overdue,
                    outcome=VisitOutcome(v.outcome) if v.outcome else None,
                    note=view.text(f"visit:{v.id}"),
                    next_visit_id=strawberry.ID(v.next_visit_id) if v.next_visit_id else None,
                    recorded_at=v.recorded_at,
                )
                for v in view.state.visits
            ],
            withheld=[
                WithheldField(field=w.field, category=w.category, reason=w.reason)
                for w in view.withheld
            ],
            created_at=plan.created_at,
            updated_at=plan.updated_at,
            completed_at=plan.completed_at,
        )


@strawberry.type
class ReintegrationPlanEdge:
    cursor: str
    node: ReintegrationPlan


@strawberry.type
class ReintegrationPlanConnection:
    edges: list[ReintegrationPlanEdge]
    page_info: PageInfo


@strawberry.input
class PlannedServiceInput:
    kind: ServiceKind
    provider_organization_id: strawberry.ID


@strawberry.input
class CreateReintegrationPlanInput:
    case_id: strawberry.ID
    services: list[PlannedServiceInput]
    idempotency_key: str


@strawberry.input
class FollowUpVisitInput:
    outcome: VisitOutcome
    note: str | None = None
    note_category: DataCategory | None = strawberry.field(
        default=None, description="What the note speaks of; unset: HEALTH, the strictest."
    )
    next_due_at: datetime | None = strawberry.field(
        default=None, description="When the next visit is due: scheduled with the same visitor."
    )


_READ = [requires("cases:read")]
_WRITE = [requires("cases:write")]
_CATEGORY = strawberry.argument(
    description="What the reason speaks of; unset: HEALTH, the strictest."
)


async def _shown(info: Info[HubContext, None], plan_id: str) -> ReintegrationPlan:
    ctx = info.context
    view = await views.get_plan(ctx.db, ctx.actor, ctx.cipher, plan_id, reading=False)
    return ReintegrationPlan.from_view(view)


@strawberry.type
class ReintegrationQueries:
    @strawberry.field(permission_classes=_READ)
    async def reintegration_plan(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> ReintegrationPlan | None:
        ctx = info.context
        view = await views.get_plan(ctx.db, ctx.actor, ctx.cipher, str(id))
        return ReintegrationPlan.from_view(view)

    @strawberry.field(
        permission_classes=_READ,
        description="Plans the caller owns, provides a service for or visits, newest first; "
        "`caseId` narrows to one case. `first` from 1 to 100.",
    )
    async def reintegration_plans(
        self,
        info: Info[HubContext, None],
        case_id: strawberry.ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ReintegrationPlanConnection:
        ctx = info.context
        found, has_next = await views.list_plans(
            ctx.db, ctx.actor, ctx.cipher, str(case_id) if case_id else None, first, after
        )
        edges = [
            ReintegrationPlanEdge(
                cursor=encode_cursor(v.state.plan), node=ReintegrationPlan.from_view(v)
            )
            for v in found
        ]
        return ReintegrationPlanConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )


async def _service_step(
    info: Info[HubContext, None],
    id: strawberry.ID,
    action: ServiceAction,
    reason: str | None,
    reason_category: DataCategory | None,
    expected_version: int | None,
) -> ReintegrationPlan:
    ctx = info.context
    plan = await service.act_on_service(
        ctx.db, ctx.actor, ctx.cipher, str(id), action, reason, reason_category, expected_version
    )
    return await _shown(info, plan.id)


@strawberry.type
class ReintegrationMutations:
    @strawberry.mutation(permission_classes=_WRITE, description="By the case owner.")
    async def create_reintegration_plan(
        self, info: Info[HubContext, None], input: CreateReintegrationPlanInput
    ) -> ReintegrationPlan:
        ctx = info.context
        plan = await service.create_plan(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            service.NewPlan(
                case_id=str(input.case_id),
                services=[
                    service.PlannedService(s.kind, str(s.provider_organization_id))
                    for s in input.services
                ],
                idempotency_key=input.idempotency_key,
            ),
        )
        return await _shown(info, plan.id)

    @strawberry.mutation(permission_classes=_WRITE, description="By the case owner.")
    async def add_reintegration_service(
        self,
        info: Info[HubContext, None],
        plan_id: strawberry.ID,
        input: PlannedServiceInput,
        expected_version: int | None = None,
    ) -> ReintegrationPlan:
        ctx = info.context
        plan = await service.add_service(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(plan_id),
            service.PlannedService(input.kind, str(input.provider_organization_id)),
            expected_version,
        )
        return await _shown(info, plan.id)

    @strawberry.mutation(permission_classes=_WRITE, description="By the provider or the owner.")
    async def start_reintegration_service(
        self, info: Info[HubContext, None], id: strawberry.ID, expected_version: int | None = None
    ) -> ReintegrationPlan:
        return await _service_step(info, id, ServiceAction.START, None, None, expected_version)

    @strawberry.mutation(permission_classes=_WRITE, description="By the provider or the owner.")
    async def complete_reintegration_service(
        self, info: Info[HubContext, None], id: strawberry.ID, expected_version: int | None = None
    ) -> ReintegrationPlan:
        return await _service_step(info, id, ServiceAction.COMPLETE, None, None, expected_version)

    @strawberry.mutation(
        permission_classes=_WRITE, description="Stop a service before completion, with a reason."
    )
    async def end_reintegration_service(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        reason_category: Annotated[DataCategory | None, _CATEGORY] = None,
        expected_version: int | None = None,
    ) -> ReintegrationPlan:
        return await _service_step(
            info, id, ServiceAction.END, reason, reason_category, expected_version
        )

    @strawberry.mutation(permission_classes=_WRITE, description="By the case owner.")
    async def cancel_reintegration_plan(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        reason_category: Annotated[DataCategory | None, _CATEGORY] = None,
        expected_version: int | None = None,
    ) -> ReintegrationPlan:
        ctx = info.context
        plan = await service.cancel_plan(
            ctx.db, ctx.actor, ctx.cipher, str(id), reason, reason_category, expected_version
        )
        return await _shown(info, plan.id)

    @strawberry.mutation(
        permission_classes=_WRITE,
        description="By the case owner; the visitor defaults to the owner itself.",
    )
    async def schedule_follow_up_visit(
        self,
        info: Info[HubContext, None],
        plan_id: strawberry.ID,
        due_at: datetime,
        visitor_organization_id: strawberry.ID | None = None,
        expected_version: int | None = None,
    ) -> ReintegrationPlan:
        ctx = info.context
        plan = await service.schedule_visit(
            ctx.db,
            ctx.actor,
            str(plan_id),
            due_at,
            str(visitor_organization_id) if visitor_organization_id else None,
            expected_version,
        )
        return await _shown(info, plan.id)

    @strawberry.mutation(permission_classes=_WRITE, description="By the visitor or the owner.")
    async def record_follow_up_visit(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        input: FollowUpVisitInput,
        expected_version: int | None = None,
    ) -> ReintegrationPlan:
        ctx = info.context
        plan = await service.record_visit(
            ctx.db,
            ctx.actor,
            ctx.cipher,
            str(id),
            service.VisitReport(input.outcome, input.note, input.note_category, input.next_due_at),
            expected_version,
        )
        return await _shown(info, plan.id)

    @strawberry.mutation(permission_classes=_WRITE, description="By the case owner.")
    async def cancel_follow_up_visit(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        reason_category: Annotated[DataCategory | None, _CATEGORY] = None,
        expected_version: int | None = None,
    ) -> ReintegrationPlan:
        ctx = info.context
        plan = await service.cancel_visit(
            ctx.db, ctx.actor, ctx.cipher, str(id), reason, reason_category, expected_version
        )
        return await _shown(info, plan.id)
