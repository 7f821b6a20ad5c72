"""Repatriation requests: an embassy brings a survivor home, a reception organisation takes
over on arrival. Same mechanism as referrals: one table, one transaction per step, with
its history row, event and audit entry; the case's status follows."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import orjson
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants
from cases.assessment_gate import check_child_may_travel
from cases.case_keys import case_cipher
from cases.custody import offer_on_handover
from cases.free_text import TextField, stored_category
from cases.funding_models import FundedCost
from cases.funding_rules import check_amount, check_currency
from cases.models import Case, CaseParty, RepatriationChange, RepatriationCost, RepatriationRequest
from cases.paging import (
    after_cursor,
    check_idempotency_key,
    check_page_size,
    fingerprint,
    once,
)
from cases.referral_rules import DEFAULT_DEADLINES, Urgency
from cases.repatriation_rules import (
    HELD_FROM,
    REPATRIATION_WORKFLOW,
    TRAVEL_PLAN_ACTION,
    Assistance,
    CostItem,
    DocumentHeld,
    RepatriationAction,
    RepatriationStatus,
    Situation,
    action_for_update,
    check_not_held_for_consent,
)
from cases.rules import CaseStatus
from cases.service import load_owned_case, set_case_status
from cases.workflow import Role, check_reason_text
from consent.rules import DataCategory, Purpose, Recipient, decide
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import (
    MembershipStatus,
    OrganizationKind,
    check_request_country,
    request_country_key,
)
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

MAX_NOTES = 4_000
READ_SCOPE = "repatriation:read"
# Costs of requests are stored under this subject kind (``cases.funding.SubjectKind``).
REPATRIATION_SUBJECT = "REPATRIATION_REQUEST"
S = RepatriationStatus


@dataclass(frozen=True, slots=True)
class NewRepatriation:
    case_id: str
    embassy_id: str
    reception_organization_id: str
    current_country: str
    situation: Situation
    documents_held: Sequence[DocumentHeld]
    assistance_needed: Sequence[Assistance]
    urgency: Urgency
    idempotency_key: str
    acknowledge_by: datetime | None = None
    notes: str | None = None
    notes_category: DataCategory | None = None


@dataclass(frozen=True, slots=True)
class TravelPlan:
    travel_date: date
    route: str
    escort: str | None = None


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def roles_of(request: RepatriationRequest, organization_id: str | None) -> set[Role]:
    roles = set()
    if organization_id == request.embassy_organization_id:
        roles.add(Role.RECEIVER)
    if organization_id == request.requester_organization_id:
        roles.add(Role.SENDER)
    if organization_id == request.reception_organization_id:
        roles.add(Role.RECEPTION)
    return roles


def repatriation_payload(request: RepatriationRequest) -> dict[str, object]:
    """What an event says about a request: ids, status, version. Never free text."""
    return {
        "repatriationId": request.id,
        "caseId": request.case_id,
        "status": request.status,
        "version": request.version,
        "embassy": request.embassy_organization_id,
        "requester": request.requester_organization_id,
        "reception": request.reception_organization_id,
    }


def _audience(request: RepatriationRequest) -> list[str]:
    return sorted(
        {
            request.requester_organization_id,
            request.embassy_organization_id,
            request.reception_organization_id,
        }
    )


def _fingerprint(new: NewRepatriation) -> str:
    return fingerprint(
        [
            new.case_id,
            new.embassy_id,
            new.reception_organization_id,
            request_country_key(new.current_country),
            new.situation.value,
            sorted(d.value for d in new.documents_held),
            sorted(a.value for a in new.assistance_needed),
            new.urgency.value,
            new.acknowledge_by.isoformat() if new.acknowledge_by else None,
            new.notes,
            new.notes_category,
        ]
    )


async def _existing(session: AsyncSession, requester: str, key: str) -> RepatriationRequest | None:
    found: RepatriationRequest | None = await session.scalar(
        select(RepatriationRequest).where(
            RepatriationRequest.requester_organization_id == requester,
            RepatriationRequest.idempotency_key == key,
        )
    )
    return found


# Work another step does in the new request's own transaction (e.g. an intervention
# request leading into it): it may refuse, and then nothing is written.
OnSubmitted = Callable[[AsyncSession, RepatriationRequest], Awaitable[None]]


async def request_repatriation(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    new: NewRepatriation,
    on_submitted: OnSubmitted | None = None,
) -> RepatriationRequest:
    """Ask an embassy to repatriate the survivor of the actor's own case. Idempotent by key."""
    requester = actor.organization_id
    if requester is None:
        raise HubError(ErrorCode.FORBIDDEN, "requests are made by member organisations")
    key = check_idempotency_key(new.idempotency_key)
    digest = _fingerprint(new)
    return await once(
        db,
        lambda session: _existing(session, requester, key),
        lambda: _submit(db, actor, cipher, new, key, digest, on_submitted),
        digest,
        "request",
    )


def _check_new(new: NewRepatriation, now: datetime) -> tuple[str, datetime]:
    country = check_request_country(new.current_country)
    if not new.documents_held:
        raise _bad("documentsHeld: say what the survivor holds, or NONE")
    if DocumentHeld.NONE in new.documents_held and len(new.documents_held) > 1:
        raise _bad("documentsHeld: NONE cannot be combined with documents")
    if new.notes is not None and len(new.notes) > MAX_NOTES:
        raise _bad(f"notes are longer than {MAX_NOTES} characters")
    acknowledge_by = new.acknowledge_by or now + DEFAULT_DEADLINES[new.urgency][0]
    if acknowledge_by <= now:
        raise _bad("acknowledgeBy must be in the future")
    return country, acknowledge_by


async def _active_member(session: AsyncSession, organization_id: str, role: str) -> Organization:
    org = await session.get(Organization, organization_id)
    if org is None or org.status != MembershipStatus.ACTIVE:
        raise _bad(f"the {role} is not an active member")
    return org


async def _submit(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    new: NewRepatriation,
    key: str,
    digest: str,
    on_submitted: OnSubmitted | None = None,
) -> RepatriationRequest:
    requester = actor.organization_id
    assert requester is not None
    now = utcnow()
    country, acknowledge_by = _check_new(new, now)
    async with db.write() as session:
        case = await load_owned_case(session, actor, new.case_id)
        embassy = await _active_member(session, new.embassy_id, "embassy")
        if embassy.kind != OrganizationKind.EMBASSY:
            raise _bad("the target of a repatriation request must be an embassy")
        if embassy.country != country and country not in embassy.areas_served:
            raise _bad("this embassy does not cover the country the survivor is in")
        reception = await _active_member(
            session, new.reception_organization_id, "reception organisation"
        )
        if reception.kind == OrganizationKind.EMBASSY:
            raise _bad("the reception organisation must be an organisation at home, not an embassy")
        grants = (await load_grants(session, [case.id])).get(case.id, [])
        for org in (embassy, reception):
            recipient = Recipient(org.id, org.kind)
            if not any(
                decide(grants, recipient, Purpose.REPATRIATION, c, now).allowed
                for c in DataCategory
            ):
                raise HubError(
                    ErrorCode.CONSENT_REQUIRED,
                    "the survivor's consent does not cover the embassy and the reception "
                    "organisation for REPATRIATION",
                )
        request_id = str(uuid.uuid4())
        request = RepatriationRequest(
            id=request_id,
            case_id=case.id,
            requester_organization_id=requester,
            embassy_organization_id=embassy.id,
            reception_organization_id=reception.id,
            current_country=country,
            situation=new.situation.value,
            documents_held=sorted({d.value for d in new.documents_held}),
            assistance_needed=sorted({a.value for a in new.assistance_needed}),
            urgency=new.urgency.value,
            status=S.SUBMITTED.value,
            version=1,
            notes_sealed=(await case_cipher(session, cipher, case.id)).seal(
                new.notes, table="repatriation_requests", column="notes", row_id=request_id
            )
            if new.notes
            else None,
            notes_category=stored_category(TextField.REPATRIATION_NOTES, new.notes_category),
            acknowledge_by=acknowledge_by,
            overdue=False,
            idempotency_key=key,
            request_fingerprint=digest,
            created_at=now,
            updated_at=now,
        )
        session.add(request)
        await session.flush()
        session.add(
            RepatriationChange(
                id=str(uuid.uuid4()),
                request_id=request_id,
                action="SUBMIT",
                from_status=None,
                to_status=request.status,
                by_organization_id=requester,
                at=now,
                version=1,
            )
        )
        for org_id in {embassy.id, reception.id} - {requester}:
            session.add(
                CaseParty(
                    case_id=case.id,
                    organization_id=org_id,
                    purpose=Purpose.REPATRIATION.value,
                    source_type="REPATRIATION",
                    source_id=request_id,
                    valid_from=now,
                )
            )
        await set_case_status(
            session,
            cipher,
            case,
            CaseStatus.AWAITING_REPATRIATION,
            f"repatriation {request_id}",
            now,
        )
        await emit(
            session,
            topic="REPATRIATION",
            type="REPATRIATION_REQUESTED",
            subject_id=request_id,
            actor_organization_id=requester,
            audience=_audience(request),
            payload=repatriation_payload(request),
        )
        await record_audit(
            session,
            actor_organization_id=requester,
            actor_client_id=actor.client_id,
            action="repatriation.request",
            subject_type="RepatriationRequest",
            subject_id=request_id,
            detail={"caseId": case.id, "embassy": embassy.id, "reception": reception.id},
            request_id=actor.request_id,
        )
        if on_submitted is not None:
            await on_submitted(session, request)
    return request


async def load_request(
    session: AsyncSession, actor: Principal, request_id: str
) -> RepatriationRequest:
    """The request if the actor is requester, embassy or reception; NOT_FOUND otherwise."""
    request = await session.get(RepatriationRequest, request_id)
    if request is None or not roles_of(request, actor.organization_id):
        raise not_found("repatriation request")
    return request


async def act(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    request_id: str,
    action: RepatriationAction | str,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    note_category: DataCategory | None = None,
) -> RepatriationRequest:
    """Apply one action from the repatriation table, as whichever role allows it."""
    async with db.write() as session:
        request = await load_request(session, actor, request_id)
        if expected_version is not None and expected_version != request.version:
            raise HubError(ErrorCode.CONFLICT, "the request was changed by someone else")
        check_not_held_for_consent(request.held_for_consent, str(action))
        roles = roles_of(request, actor.organization_id)
        allowed = [r for r in roles if REPATRIATION_WORKFLOW.allows(request.status, action, r)]
        role = allowed[0] if allowed else sorted(roles)[0]
        step = REPATRIATION_WORKFLOW.next_state(request.status, str(action), role, roles)
        why = check_reason_text(note, step.needs_reason)
        if step.action == RepatriationAction.ARRANGE_TRAVEL:
            about = await session.get(Case, request.case_id)
            assert about is not None
            await check_child_may_travel(session, cipher, about, request.id, utcnow().date())
        previous = request.status
        target = step.target
        values: dict[str, object] = {}
        if target == HELD_FROM:
            target = request.held_from or S.ACKNOWLEDGED.value
            values["held_from"] = None
        elif target == S.ON_HOLD:
            values["held_from"] = previous
        now = utcnow()
        values.update(status=target, version=request.version + 1, updated_at=now)
        if target == S.SUBMITTED:
            # Back from hold before the embassy acknowledged: still owed, maybe late.
            values["overdue"] = request.acknowledge_by <= now
        elif target != S.ON_HOLD:
            values["overdue"] = False
        if target in REPATRIATION_WORKFLOW.final:
            values["held_from"] = None
            values["held_for_consent"] = False
        result = await session.execute(
            update(RepatriationRequest)
            .where(
                RepatriationRequest.id == request.id,
                RepatriationRequest.version == request.version,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise HubError(ErrorCode.CONFLICT, "the request was changed by someone else")
        change_id = str(uuid.uuid4())
        session.add(
            RepatriationChange(
                id=change_id,
                request_id=request.id,
                action=str(action),
                from_status=previous,
                to_status=target,
                by_organization_id=actor.organization_id,
                at=now,
                version=request.version + 1,
                note_sealed=(await case_cipher(session, cipher, request.case_id)).seal(
                    why, table="repatriation_changes", column="note", row_id=change_id
                )
                if why
                else None,
                note_category=stored_category(TextField.REPATRIATION_CHANGE_NOTE, note_category)
                if why
                else None,
            )
        )
        await session.refresh(request)
        case = await session.get(Case, request.case_id)
        assert case is not None
        if target == S.HANDED_OVER:
            await set_case_status(
                session,
                cipher,
                case,
                CaseStatus.REPATRIATED,
                f"repatriation {request.id} handed over",
                now,
            )
            await offer_on_handover(
                session, cipher, actor, case, request.id, request.reception_organization_id
            )
        elif target in (S.REJECTED, S.CANCELLED):
            await session.execute(
                update(CaseParty)
                .where(CaseParty.source_type == "REPATRIATION", CaseParty.source_id == request.id)
                .values(ended_at=now)
                .execution_options(synchronize_session=False)
            )
            others = await session.scalar(
                select(func.count())
                .select_from(RepatriationRequest)
                .where(
                    RepatriationRequest.case_id == case.id,
                    RepatriationRequest.id != request.id,
                    RepatriationRequest.status.not_in(
                        [*REPATRIATION_WORKFLOW.final, S.HANDED_OVER.value]
                    ),
                )
            )
            if case.status == CaseStatus.AWAITING_REPATRIATION and not others:
                await set_case_status(
                    session,
                    cipher,
                    case,
                    CaseStatus.IN_CARE,
                    f"repatriation {request.id} {target}",
                    now,
                )
        await emit(
            session,
            topic="REPATRIATION",
            type=f"REPATRIATION_{target}",
            subject_id=request.id,
            actor_organization_id=actor.organization_id,
            audience=_audience(request),
            payload=repatriation_payload(request),
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action=f"repatriation.{str(action).lower()}",
            subject_type="RepatriationRequest",
            subject_id=request.id,
            detail={"from": previous, "to": target},
            request_id=actor.request_id,
        )
    return request


async def update_status(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    request_id: str,
    status: RepatriationStatus,
    note: str | None,
    expected_version: int | None,
    note_category: DataCategory | None = None,
) -> RepatriationRequest:
    """`updateRepatriation`: move to ``status`` if the table allows it from here."""
    async with db.read() as session:
        request = await load_request(session, actor, request_id)
    action = action_for_update(request.status, request.held_from, status)
    return await act(
        db,
        actor,
        cipher,
        request_id,
        action,
        note=note,
        expected_version=expected_version,
        note_category=note_category,
    )


async def record_travel_plan(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    request_id: str,
    plan: TravelPlan,
    expected_version: int | None,
) -> RepatriationRequest:
    """The embassy or the requester records the travel date, route and escort."""
    route = plan.route.strip()
    if not route or len(route) > 500:
        raise _bad("route: 1 to 500 characters")
    if plan.escort is not None and len(plan.escort) > 200:
        raise _bad("escort: at most 200 characters")
    async with db.write() as session:
        request = await load_request(session, actor, request_id)
        if not roles_of(request, actor.organization_id) & {Role.RECEIVER, Role.SENDER}:
            raise HubError(ErrorCode.FORBIDDEN, "the embassy or the requester records travel")
        if request.status in REPATRIATION_WORKFLOW.final:
            raise REPATRIATION_WORKFLOW.refusal(
                request.status,
                roles_of(request, actor.organization_id),
                "Cannot record a travel plan: this repatriation request "
                + REPATRIATION_WORKFLOW.state_words(request.status),
            )
        if expected_version is not None and expected_version != request.version:
            raise HubError(ErrorCode.CONFLICT, "the request was changed by someone else")
        now = utcnow()
        result = await session.execute(
            update(RepatriationRequest)
            .where(
                RepatriationRequest.id == request.id,
                RepatriationRequest.version == request.version,
            )
            .values(
                travel_plan_sealed=(await case_cipher(session, cipher, request.case_id)).seal(
                    orjson.dumps(
                        {
                            "date": plan.travel_date.isoformat(),
                            "route": route,
                            "escort": (plan.escort or "").strip(),
                        }
                    ).decode(),
                    table="repatriation_requests",
                    column="travel_plan",
                    row_id=request.id,
                ),
                version=request.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise HubError(ErrorCode.CONFLICT, "the request was changed by someone else")
        # Every version has its history entry: a plan changes the request, not its status.
        session.add(
            RepatriationChange(
                id=str(uuid.uuid4()),
                request_id=request.id,
                action=TRAVEL_PLAN_ACTION,
                from_status=request.status,
                to_status=request.status,
                by_organization_id=actor.organization_id,
                at=now,
                version=request.version + 1,
                note_sealed=None,
            )
        )
        await session.refresh(request)
        await emit(
            session,
            topic="REPATRIATION",
            type="REPATRIATION_TRAVEL_PLANNED",
            subject_id=request.id,
            actor_organization_id=actor.organization_id,
            audience=_audience(request),
            payload=repatriation_payload(request),
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="repatriation.travel_plan",
            subject_type="RepatriationRequest",
            subject_id=request.id,
            detail={"date": plan.travel_date.isoformat()},
            request_id=actor.request_id,
        )
    return request


async def record_cost(
    db: Database,
    actor: Principal,
    request_id: str,
    item: CostItem,
    amount: str,
    currency: str,
) -> FundedCost:
    """A cost, recorded by the party that pays it (a named funder uses ``cases.funding``);
    stored with every other cost, in ``funded_costs``."""
    checked = check_amount(amount)
    code = check_currency(currency)
    async with db.write() as session:
        request = await load_request(session, actor, request_id)
        now = utcnow()
        cost = FundedCost(
            id=str(uuid.uuid4()),
            subject_kind=REPATRIATION_SUBJECT,
            subject_id=request.id,
            funder_organization_id=actor.organization_id or "",
            item=item.value,
            amount=checked,
            currency=code,
            incurred_on=now.date(),
            recorded_at=now,
        )
        session.add(cost)
        await session.flush()
        await emit(
            session,
            topic="REPATRIATION",
            type="REPATRIATION_COST_RECORDED",
            subject_id=request.id,
            actor_organization_id=actor.organization_id,
            audience=_audience(request),
            payload={**repatriation_payload(request), "item": cost.item, "currency": cost.currency},
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="repatriation.cost",
            subject_type="RepatriationRequest",
            subject_id=request.id,
            detail={"item": cost.item, "amount": cost.amount, "currency": cost.currency},
            request_id=actor.request_id,
        )
    return cost


class RepatriationBox:
    INBOX = "INBOX"  # requests addressed to me: as the embassy or the reception organisation
    OUTBOX = "OUTBOX"  # requests I made


async def list_requests(
    db: Database,
    actor: Principal,
    box: str,
    status: RepatriationStatus | None,
    first: int,
    after: str | None,
) -> tuple[list[RepatriationRequest], bool]:
    check_page_size(first)
    if not actor.has(READ_SCOPE):
        return [], False
    org = actor.organization_id
    if box == RepatriationBox.INBOX:
        mine: ColumnElement[bool] = or_(
            RepatriationRequest.embassy_organization_id == org,
            RepatriationRequest.reception_organization_id == org,
        )
    else:
        mine = RepatriationRequest.requester_organization_id == org
    query = (
        select(RepatriationRequest)
        .where(mine)
        .order_by(RepatriationRequest.created_at.desc(), RepatriationRequest.id.desc())
        .limit(first + 1)
    )
    if status is not None:
        query = query.where(RepatriationRequest.status == status.value)
    if after:
        query = query.where(
            after_cursor(after, RepatriationRequest.created_at, RepatriationRequest.id)
        )
    async with db.read() as session:
        rows = list(await session.scalars(query))
    return rows[:first], len(rows) > first


async def get_request(
    db: Database, actor: Principal, request_id: str, *, reading: bool = True
) -> RepatriationRequest:
    """The request for a reader: party to it, and holding `repatriation:read` (a writer
    reloading what it just changed passes ``reading=False``; its texts are still gated)."""
    if reading and not actor.has(READ_SCOPE):
        raise not_found("repatriation request")
    async with db.read() as session:
        return await load_request(session, actor, request_id)


async def history_and_costs(
    db: Database, request_ids: Sequence[str]
) -> tuple[dict[str, list[RepatriationChange]], dict[str, list[RepatriationCost]]]:
    changes: dict[str, list[RepatriationChange]] = {rid: [] for rid in request_ids}
    costs: dict[str, list[RepatriationCost]] = {rid: [] for rid in request_ids}
    async with db.read() as session:
        for row in await session.scalars(
            select(RepatriationChange)
            .where(RepatriationChange.request_id.in_(list(request_ids)))
            .order_by(RepatriationChange.version)
        ):
            changes[row.request_id].append(row)
        for cost in await session.scalars(
            select(FundedCost)
            .where(
                FundedCost.subject_kind == REPATRIATION_SUBJECT,
                FundedCost.subject_id.in_(list(request_ids)),
            )
            .order_by(FundedCost.recorded_at, FundedCost.id)
        ):
            # Shown in the shape partners already read (``RepatriationRequest.costs``).
            costs[cost.subject_id].append(
                RepatriationCost(
                    id=cost.id,
                    request_id=cost.subject_id,
                    item=cost.item,
                    amount=cost.amount,
                    currency=cost.currency,
                    paid_by_organization_id=cost.funder_organization_id,
                    recorded_at=cost.recorded_at,
                )
            )
    return changes, costs
