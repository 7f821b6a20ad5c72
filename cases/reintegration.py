"""Reintegration plans: the case owner plans services with providers and follow-up visits;
providers and visitors report on their part; the case closes when the plan completes.

Same mechanism as referrals and repatriation: transition tables in
``cases.reintegration_rules``, one write transaction per step with its event and audit
entry, the plan's ``version`` guarding against lost updates. Providers and visitors become
parties to the case for FOLLOW_UP, which the survivor's consent must cover.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants
from cases.case_keys import case_cipher
from cases.free_text import TextField, stored_category
from cases.models import Case, CaseParty
from cases.paging import check_idempotency_key, fingerprint, once
from cases.reintegration_models import FollowUpVisit, ReintegrationPlan, ReintegrationService
from cases.reintegration_rules import (
    CONCERNS,
    PLAN_WORKFLOW,
    SERVICE_WORKFLOW,
    VISIT_WORKFLOW,
    PlanAction,
    PlanStatus,
    ServiceAction,
    ServiceKind,
    ServiceStatus,
    VisitAction,
    VisitOutcome,
    VisitState,
    VisitStatus,
    case_status_for,
    check_grant_start,
    check_services,
    plan_complete,
)
from cases.rules import CaseStatus
from cases.service import load_owned_case, set_case_status
from cases.workflow import Role, Transition, Workflow, action_words, check_reason_text
from consent.rules import DataCategory, Purpose, Recipient, covers
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

TOPIC = "REINTEGRATION"
SUBJECT = "ReintegrationPlan"
SOURCE = "REINTEGRATION"


@dataclass(frozen=True, slots=True)
class PlannedService:
    kind: ServiceKind
    provider_id: str


@dataclass(frozen=True, slots=True)
class NewPlan:
    case_id: str
    services: Sequence[PlannedService]
    idempotency_key: str


@dataclass
class PlanState:
    """A plan with its case, services and visits, loaded for one caller."""

    plan: ReintegrationPlan
    case: Case
    services: list[ReintegrationService] = field(default_factory=list)
    visits: list[FollowUpVisit] = field(default_factory=list)

    @property
    def owner(self) -> str:
        return self.case.owner_organization_id

    def parties(self) -> set[str]:
        return {
            self.owner,
            *(s.provider_organization_id for s in self.services),
            *(v.visitor_organization_id for v in self.visits),
        }


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def plan_payload(plan: ReintegrationPlan, **extra: object) -> dict[str, object]:
    """What an event says about a plan: ids, statuses, kinds, version. Never free text."""
    return {
        "planId": plan.id,
        "caseId": plan.case_id,
        "status": plan.status,
        "version": plan.version,
        **extra,
    }


async def plan_state(session: AsyncSession, plan: ReintegrationPlan) -> PlanState:
    case = await session.get(Case, plan.case_id)
    assert case is not None
    state = PlanState(plan, case)
    state.services = list(
        await session.scalars(
            select(ReintegrationService)
            .where(ReintegrationService.plan_id == plan.id)
            .order_by(ReintegrationService.created_at, ReintegrationService.id)
        )
    )
    state.visits = list(
        await session.scalars(
            select(FollowUpVisit)
            .where(FollowUpVisit.plan_id == plan.id)
            .order_by(FollowUpVisit.due_at, FollowUpVisit.id)
        )
    )
    return state


async def load_plan(session: AsyncSession, actor: Principal, plan_id: str) -> PlanState:
    """The plan if the actor owns its case, provides one of its services or visits;
    NOT_FOUND otherwise, as if it did not exist."""
    plan = await session.get(ReintegrationPlan, plan_id)
    if plan is None:
        raise not_found("reintegration plan")
    state = await plan_state(session, plan)
    if actor.organization_id is None or actor.organization_id not in state.parties():
        raise not_found("reintegration plan")
    return state


async def _active_member(session: AsyncSession, organization_id: str, role: str) -> Organization:
    org = await session.get(Organization, organization_id)
    if org is None or org.status != MembershipStatus.ACTIVE:
        raise _bad(f"the {role} is not an active member")
    return org


async def _admit(
    session: AsyncSession, state: PlanState, organization_id: str, role: str, now: datetime
) -> None:
    """Make a provider or visitor a party to the case for FOLLOW_UP, if consent covers it."""
    org = await _active_member(session, organization_id, role)
    if org.id == state.owner:
        return
    grants = (await load_grants(session, [state.case.id])).get(state.case.id, [])
    if not covers(grants, Recipient(org.id, org.kind), Purpose.FOLLOW_UP, now):
        raise HubError(
            ErrorCode.CONSENT_REQUIRED,
            f"the survivor's consent does not cover the {role} for FOLLOW_UP",
        )
    existing = await session.scalar(
        select(CaseParty.id).where(
            CaseParty.source_type == SOURCE,
            CaseParty.source_id == state.plan.id,
            CaseParty.organization_id == org.id,
            CaseParty.ended_at.is_(None),
        )
    )
    if existing is None:
        session.add(
            CaseParty(
                case_id=state.case.id,
                organization_id=org.id,
                purpose=Purpose.FOLLOW_UP.value,
                source_type=SOURCE,
                source_id=state.plan.id,
                valid_from=now,
            )
        )


async def _check_consent(
    session: AsyncSession, actor: Principal, state: PlanState, now: datetime
) -> None:
    """A provider or visitor reports only while the survivor's consent covers it for
    FOLLOW_UP: after a withdrawal it stops, like a repatriation request held for consent."""
    if actor.organization_id == state.owner:
        return
    grants = (await load_grants(session, [state.case.id])).get(state.case.id, [])
    recipient = Recipient(actor.organization_id or "", actor.organization_kind or "")
    if not covers(grants, recipient, Purpose.FOLLOW_UP, now):
        raise HubError(
            ErrorCode.CONSENT_REQUIRED,
            "the survivor's consent no longer covers your organisation for FOLLOW_UP",
        )


async def _bump(session: AsyncSession, state: PlanState, now: datetime, **values: object) -> None:
    """Every change to a plan or its parts takes the plan's next version, or CONFLICT."""
    result = await session.execute(
        update(ReintegrationPlan)
        .where(
            ReintegrationPlan.id == state.plan.id,
            ReintegrationPlan.version == state.plan.version,
        )
        .values(version=state.plan.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise HubError(ErrorCode.CONFLICT, "the plan was changed by someone else")
    await session.refresh(state.plan)


def _check_version(state: PlanState, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != state.plan.version:
        raise HubError(ErrorCode.CONFLICT, "the plan was changed by someone else")


def _check_active(state: PlanState, actor: Principal, what: str) -> None:
    if state.plan.status != PlanStatus.ACTIVE:
        raise PLAN_WORKFLOW.refusal(
            state.plan.status,
            _plan_roles(state, actor),
            f"Cannot {what}: this reintegration plan "
            + PLAN_WORKFLOW.state_words(state.plan.status),
        )


def _plan_roles(state: PlanState, actor: Principal) -> set[Role]:
    return {Role.SENDER} if actor.organization_id == state.owner else set()


def _require_owner(state: PlanState, actor: Principal, what: str) -> None:
    if actor.organization_id != state.owner:
        raise HubError(ErrorCode.FORBIDDEN, f"only the organisation that owns the case may {what}")


async def _emit(
    session: AsyncSession,
    actor: Principal,
    state: PlanState,
    type: str,
    audience: Sequence[str] | None = None,
    **extra: object,
) -> None:
    await emit(
        session,
        topic=TOPIC,
        type=type,
        subject_id=state.plan.id,
        actor_organization_id=actor.organization_id,
        audience=sorted(audience if audience is not None else state.parties()),
        payload=plan_payload(state.plan, **extra),
    )


async def _audit(
    session: AsyncSession, actor: Principal, state: PlanState, action: str, **detail: object
) -> None:
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=f"reintegration.{action}",
        subject_type=SUBJECT,
        subject_id=state.plan.id,
        detail={"caseId": state.case.id, **detail},
        request_id=actor.request_id,
    )


async def settle(
    session: AsyncSession, cipher: FieldCipher, actor: Principal, state: PlanState, now: datetime
) -> None:
    """After any change to an active plan: move its case to where the plan stands and, once
    ``plan_complete`` holds, complete the plan and close the case."""
    if state.plan.status != PlanStatus.ACTIVE:
        return
    services = [ServiceStatus(s.status) for s in state.services]
    visits = [
        VisitState(
            VisitStatus(v.status), VisitOutcome(v.outcome) if v.outcome else None, v.recorded_at
        )
        for v in state.visits
    ]
    complete = plan_complete(services, visits)
    target = case_status_for(services, complete)
    if complete:
        PLAN_WORKFLOW.next_state(state.plan.status, PlanAction.COMPLETE, Role.SYSTEM)
        await session.execute(
            update(ReintegrationPlan)
            .where(ReintegrationPlan.id == state.plan.id)
            .values(status=PlanStatus.COMPLETED.value, completed_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(state.plan)
        await _emit(session, actor, state, "REINTEGRATION_PLAN_COMPLETED")
    if state.case.status != CaseStatus.CLOSED:
        await set_case_status(
            session, cipher, state.case, target, f"reintegration plan {state.plan.id}", now
        )


# ---------------------------------------------------------------- the plan


def _fingerprint(new: NewPlan) -> str:
    return fingerprint([new.case_id, sorted((s.kind.value, s.provider_id) for s in new.services)])


async def create_plan(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewPlan
) -> ReintegrationPlan:
    """The case owner plans the survivor's reintegration. Idempotent by key."""
    owner = actor.organization_id
    if owner is None:
        raise HubError(ErrorCode.FORBIDDEN, "plans are made by member organisations")
    key = check_idempotency_key(new.idempotency_key)
    check_services([s.kind for s in new.services])
    digest = _fingerprint(new)

    async def existing(session: AsyncSession) -> ReintegrationPlan | None:
        found: ReintegrationPlan | None = await session.scalar(
            select(ReintegrationPlan).where(
                ReintegrationPlan.created_by_organization_id == owner,
                ReintegrationPlan.idempotency_key == key,
            )
        )
        return found

    return await once(
        db, existing, lambda: _create(db, actor, cipher, new, key, digest), digest, "plan"
    )


async def _create(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewPlan, key: str, digest: str
) -> ReintegrationPlan:
    owner = actor.organization_id
    assert owner is not None
    now = utcnow()
    async with db.write() as session:
        case = await load_owned_case(session, actor, new.case_id)
        if case.status == CaseStatus.CLOSED:
            raise HubError(ErrorCode.INVALID_TRANSITION, "a closed case gets no reintegration plan")
        open_plan = await session.scalar(
            select(ReintegrationPlan.id).where(
                ReintegrationPlan.case_id == case.id,
                ReintegrationPlan.status == PlanStatus.ACTIVE.value,
            )
        )
        if open_plan is not None:
            raise HubError(ErrorCode.CONFLICT, "the case already has an active reintegration plan")
        plan = ReintegrationPlan(
            id=str(uuid.uuid4()),
            case_id=case.id,
            status=PlanStatus.ACTIVE.value,
            version=1,
            created_by_organization_id=owner,
            idempotency_key=key,
            request_fingerprint=digest,
            created_at=now,
            updated_at=now,
        )
        session.add(plan)
        await session.flush()
        state = PlanState(plan, case)
        for planned in new.services:
            await _admit(session, state, planned.provider_id, "provider", now)
            service = ReintegrationService(
                id=str(uuid.uuid4()),
                plan_id=plan.id,
                kind=planned.kind.value,
                provider_organization_id=planned.provider_id,
                status=ServiceStatus.PLANNED.value,
                created_at=now,
                updated_at=now,
            )
            session.add(service)
            state.services.append(service)
        await session.flush()
        await settle(session, cipher, actor, state, now)
        await _emit(
            session,
            actor,
            state,
            "REINTEGRATION_PLAN_CREATED",
            services=[s.kind for s in state.services],
        )
        await _audit(session, actor, state, "create", services=[s.kind for s in state.services])
    return plan


async def add_service(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    plan_id: str,
    planned: PlannedService,
    expected_version: int | None,
) -> ReintegrationPlan:
    """The case owner adds a service to an active plan."""
    now = utcnow()
    async with db.write() as session:
        state = await load_plan(session, actor, plan_id)
        _require_owner(state, actor, "change its reintegration plan")
        _check_version(state, expected_version)
        _check_active(state, actor, "add a service")
        check_services([*(ServiceKind(s.kind) for s in state.services), planned.kind])
        await _admit(session, state, planned.provider_id, "provider", now)
        service = ReintegrationService(
            id=str(uuid.uuid4()),
            plan_id=state.plan.id,
            kind=planned.kind.value,
            provider_organization_id=planned.provider_id,
            status=ServiceStatus.PLANNED.value,
            created_at=now,
            updated_at=now,
        )
        session.add(service)
        state.services.append(service)
        await _bump(session, state, now)
        await settle(session, cipher, actor, state, now)
        await _emit(
            session,
            actor,
            state,
            "REINTEGRATION_SERVICE_ADDED",
            serviceId=service.id,
            kind=service.kind,
            serviceStatus=service.status,
        )
        await _audit(session, actor, state, "add_service", serviceId=service.id, kind=service.kind)
    return state.plan


async def cancel_plan(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    plan_id: str,
    reason: str,
    reason_category: DataCategory | None,
    expected_version: int | None,
) -> ReintegrationPlan:
    """The case owner stops the plan: open visits are cancelled, providers stop being parties."""
    now = utcnow()
    async with db.write() as session:
        state = await load_plan(session, actor, plan_id)
        _check_version(state, expected_version)
        roles = {Role.SENDER} if actor.organization_id == state.owner else {Role.RECEIVER}
        step = _step(PLAN_WORKFLOW, state.plan.status, PlanAction.CANCEL, roles)
        why = check_reason_text(reason, step.needs_reason)
        assert why is not None
        await _bump(
            session,
            state,
            now,
            status=step.target,
            cancel_reason_sealed=(await case_cipher(session, cipher, state.plan.case_id)).seal(
                why, table="reintegration_plans", column="cancel_reason", row_id=state.plan.id
            ),
            cancel_reason_category=stored_category(
                TextField.REINTEGRATION_CANCEL_REASON, reason_category
            ),
        )
        await session.execute(
            update(FollowUpVisit)
            .where(
                FollowUpVisit.plan_id == state.plan.id,
                FollowUpVisit.status == VisitStatus.SCHEDULED.value,
            )
            .values(status=VisitStatus.CANCELLED.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        audience = sorted(state.parties())
        await session.execute(
            update(CaseParty)
            .where(CaseParty.source_type == SOURCE, CaseParty.source_id == state.plan.id)
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        await _emit(session, actor, state, "REINTEGRATION_PLAN_CANCELLED", audience)
        await _audit(session, actor, state, "cancel")
    return state.plan


# ---------------------------------------------------------------- services


async def act_on_service(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    service_id: str,
    action: ServiceAction,
    reason: str | None,
    reason_category: DataCategory | None,
    expected_version: int | None,
) -> ReintegrationPlan:
    """A provider (or the case owner) starts, completes or ends one service of a plan."""
    now = utcnow()
    async with db.write() as session:
        row = await session.get(ReintegrationService, service_id)
        if row is None:
            raise not_found("reintegration service")
        state = await load_plan(session, actor, row.plan_id)
        service = next(s for s in state.services if s.id == service_id)
        roles = set()
        if actor.organization_id == state.owner:
            roles.add(Role.SENDER)
        if actor.organization_id == service.provider_organization_id:
            roles.add(Role.RECEIVER)
        _check_version(state, expected_version)
        _check_active(state, actor, f"{action.value.lower()} a service")
        step = _step(SERVICE_WORKFLOW, service.status, action, roles)
        await _check_consent(session, actor, state, now)
        if action is ServiceAction.START:
            check_grant_start(
                ServiceKind(service.kind),
                [(ServiceKind(s.kind), ServiceStatus(s.status)) for s in state.services],
            )
        why = check_reason_text(reason, step.needs_reason)
        values: dict[str, object] = {"status": step.target, "updated_at": now}
        if why:
            values["end_reason_sealed"] = (
                await case_cipher(session, cipher, state.plan.case_id)
            ).seal(why, table="reintegration_services", column="end_reason", row_id=service.id)
            values["end_reason_category"] = stored_category(
                TextField.REINTEGRATION_SERVICE_END_REASON, reason_category
            )
        previous = service.status
        await session.execute(
            update(ReintegrationService)
            .where(ReintegrationService.id == service.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(service)
        await _bump(session, state, now)
        await _emit(
            session,
            actor,
            state,
            f"REINTEGRATION_SERVICE_{step.target}",
            serviceId=service.id,
            kind=service.kind,
            serviceStatus=service.status,
        )
        await _audit(
            session,
            actor,
            state,
            f"service_{action.value.lower()}",
            serviceId=service.id,
            **{"from": previous, "to": service.status},
        )
        await settle(session, cipher, actor, state, now)
    return state.plan


def _step(workflow: Workflow, current: str, action: str, roles: set[Role]) -> Transition:
    """The transition one of ``roles`` may take, or the table's refusal in plain words.

    A party to the plan with no role on this service or visit (another provider) holds
    none; it is told who may act, as a refusal (it sees the plan, so nothing is hidden)."""
    if not roles:
        who = " or the ".join(sorted(workflow.role_names.values()))
        raise workflow.refusal(
            current, roles, f"Cannot {action_words(action)}: only the {who} may do that"
        )
    allowed = [r for r in roles if workflow.allows(current, action, r)]
    role = allowed[0] if allowed else sorted(roles)[0]
    return workflow.next_state(current, action, role, roles)


# ---------------------------------------------------------------- visits


MAX_NOTE = 4_000


async def schedule_visit(
    db: Database,
    actor: Principal,
    plan_id: str,
    due_at: datetime,
    visitor_id: str | None,
    expected_version: int | None,
) -> ReintegrationPlan:
    """The case owner schedules a follow-up visit, by itself or another organisation."""
    now = utcnow()
    if due_at <= now:
        raise _bad("dueAt must be in the future")
    async with db.write() as session:
        state = await load_plan(session, actor, plan_id)
        _require_owner(state, actor, "schedule follow-up visits")
        _check_version(state, expected_version)
        _check_active(state, actor, "schedule a visit")
        visitor = visitor_id or state.owner
        await _admit(session, state, visitor, "visiting organisation", now)
        visit = _new_visit(state, visitor, due_at, now)
        session.add(visit)
        await _bump(session, state, now)
        await _emit(
            session,
            actor,
            state,
            "FOLLOW_UP_VISIT_SCHEDULED",
            visitId=visit.id,
            visitStatus=visit.status,
            dueAt=due_at.isoformat(),
        )
        await _audit(session, actor, state, "schedule_visit", visitId=visit.id)
    return state.plan


def _new_visit(state: PlanState, visitor: str, due_at: datetime, now: datetime) -> FollowUpVisit:
    visit = FollowUpVisit(
        id=str(uuid.uuid4()),
        plan_id=state.plan.id,
        visitor_organization_id=visitor,
        status=VisitStatus.SCHEDULED.value,
        due_at=due_at,
        overdue=False,
        created_at=now,
        updated_at=now,
    )
    state.visits.append(visit)
    return visit


async def _visit_state(
    session: AsyncSession, actor: Principal, visit_id: str
) -> tuple[PlanState, FollowUpVisit, set[Role]]:
    row = await session.get(FollowUpVisit, visit_id)
    if row is None:
        raise not_found("follow-up visit")
    state = await load_plan(session, actor, row.plan_id)
    visit = next(v for v in state.visits if v.id == visit_id)
    roles = set()
    if actor.organization_id == state.owner:
        roles.add(Role.SENDER)
    if actor.organization_id == visit.visitor_organization_id:
        roles.add(Role.RECEIVER)
    return state, visit, roles


@dataclass(frozen=True, slots=True)
class VisitReport:
    outcome: VisitOutcome
    note: str | None = None
    note_category: DataCategory | None = None
    next_due_at: datetime | None = None


async def record_visit(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    visit_id: str,
    report: VisitReport,
    expected_version: int | None,
) -> ReintegrationPlan:
    """The visitor (or the owner) records what a visit found and, if another is due, when.
    AT_RISK and RE_TRAFFICKED tell the owner at once, in an event of its own."""
    now = utcnow()
    note = (report.note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise _bad(f"note is longer than {MAX_NOTE} characters")
    if report.next_due_at is not None and report.next_due_at <= now:
        raise _bad("nextDueAt must be in the future")
    async with db.write() as session:
        state, visit, roles = await _visit_state(session, actor, visit_id)
        _check_version(state, expected_version)
        _check_active(state, actor, "record a visit")
        step = _step(VISIT_WORKFLOW, visit.status, VisitAction.RECORD, roles)
        await _check_consent(session, actor, state, now)
        values: dict[str, object] = {
            "status": step.target,
            "outcome": report.outcome.value,
            "recorded_at": now,
            "overdue": False,
            "updated_at": now,
        }
        if note:
            values["note_sealed"] = (await case_cipher(session, cipher, state.plan.case_id)).seal(
                note, table="follow_up_visits", column="note", row_id=visit.id
            )
            values["note_category"] = stored_category(
                TextField.FOLLOW_UP_VISIT_NOTE, report.note_category
            )
        following = None
        if report.next_due_at is not None:
            following = _new_visit(state, visit.visitor_organization_id, report.next_due_at, now)
            session.add(following)
            values["next_visit_id"] = following.id
        await session.execute(
            update(FollowUpVisit)
            .where(FollowUpVisit.id == visit.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.flush()
        await session.refresh(visit)
        await _bump(session, state, now)
        await _emit(
            session,
            actor,
            state,
            "FOLLOW_UP_VISIT_RECORDED",
            visitId=visit.id,
            visitStatus=visit.status,
            nextVisitId=following.id if following else None,
        )
        if report.outcome in CONCERNS:
            await _emit(
                session,
                actor,
                state,
                "FOLLOW_UP_CONCERN",
                [state.owner],
                visitId=visit.id,
                outcome=report.outcome.value,
            )
        await _audit(
            session,
            actor,
            state,
            "record_visit",
            visitId=visit.id,
            nextVisitId=following.id if following else None,
        )
        await settle(session, cipher, actor, state, now)
    return state.plan


async def cancel_visit(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    visit_id: str,
    reason: str,
    reason_category: DataCategory | None,
    expected_version: int | None,
) -> ReintegrationPlan:
    """The case owner cancels a scheduled visit, with a reason."""
    now = utcnow()
    async with db.write() as session:
        state, visit, roles = await _visit_state(session, actor, visit_id)
        _check_version(state, expected_version)
        _check_active(state, actor, "cancel a visit")
        step = _step(VISIT_WORKFLOW, visit.status, VisitAction.CANCEL, roles)
        why = check_reason_text(reason, step.needs_reason)
        assert why is not None
        await session.execute(
            update(FollowUpVisit)
            .where(FollowUpVisit.id == visit.id)
            .values(
                status=step.target,
                overdue=False,
                updated_at=now,
                note_sealed=(await case_cipher(session, cipher, state.plan.case_id)).seal(
                    why, table="follow_up_visits", column="note", row_id=visit.id
                ),
                note_category=stored_category(TextField.FOLLOW_UP_VISIT_NOTE, reason_category),
            )
            .execution_options(synchronize_session=False)
        )
        await session.refresh(visit)
        await _bump(session, state, now)
        await _emit(
            session,
            actor,
            state,
            "FOLLOW_UP_VISIT_CANCELLED",
            visitId=visit.id,
            visitStatus=visit.status,
        )
        await _audit(session, actor, state, "cancel_visit", visitId=visit.id)
        await settle(session, cipher, actor, state, now)
    return state.plan
