"""Intervention requests: a member asks an embassy to locate and assist a person still
abroad, on a report from her family or from herself. Same mechanism as repatriation: one
table, one transaction per step with its history row, event and audit entry.

The case is the person's (status ABROAD while the embassy looks for her); the embassy is a
party for REPATRIATION and reads what consent gives it, a relative's (grantor FAMILY) until
her own replaces it. A found person leads into a repatriation request, linked both ways.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants
from cases.case_keys import case_cipher
from cases.free_text import TextField, stored_category
from cases.intervention_models import InterventionChange, InterventionRequest
from cases.intervention_rules import (
    INTERVENTION_WORKFLOW,
    InterventionAction,
    InterventionStatus,
    Reporter,
    action_for_update,
    outcome_of,
)
from cases.models import CaseParty, RepatriationRequest
from cases.paging import after_cursor, check_idempotency_key, check_page_size, fingerprint, once
from cases.referral_rules import DEFAULT_DEADLINES, Urgency
from cases.repatriation import NewRepatriation, request_repatriation
from cases.rules import CaseStatus
from cases.service import load_owned_case, set_case_status
from cases.workflow import Role, check_reason_text
from consent.rules import DataCategory, Purpose, Recipient, covers
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

READ_SCOPE = "repatriation:read"
MAX_LOCATION = 1_000
S = InterventionStatus
TABLE = "intervention_requests"


@dataclass(frozen=True, slots=True)
class NewIntervention:
    case_id: str
    embassy_id: str
    current_country: str
    reported_by: Reporter
    urgency: Urgency
    idempotency_key: str
    last_known_location: str | None = None
    acknowledge_by: datetime | None = None


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def roles_of(request: InterventionRequest, organization_id: str | None) -> set[Role]:
    roles = set()
    if organization_id == request.embassy_organization_id:
        roles.add(Role.RECEIVER)
    if organization_id == request.requester_organization_id:
        roles.add(Role.SENDER)
    return roles


def intervention_payload(request: InterventionRequest) -> dict[str, object]:
    """What an event says about an intervention: ids, status, outcome. Never the location."""
    return {
        "interventionId": request.id,
        "caseId": request.case_id,
        "status": request.status,
        "outcome": request.outcome,
        "version": request.version,
        "embassy": request.embassy_organization_id,
        "requester": request.requester_organization_id,
        "repatriationId": request.repatriation_request_id,
    }


def _audience(request: InterventionRequest) -> list[str]:
    return sorted({request.requester_organization_id, request.embassy_organization_id})


def _fingerprint(new: NewIntervention) -> str:
    return fingerprint(
        [
            new.case_id,
            new.embassy_id,
            request_country_key(new.current_country),
            new.reported_by.value,
            new.urgency.value,
            new.last_known_location,
            new.acknowledge_by.isoformat() if new.acknowledge_by else None,
        ]
    )


async def _existing(session: AsyncSession, requester: str, key: str) -> InterventionRequest | None:
    found: InterventionRequest | None = await session.scalar(
        select(InterventionRequest).where(
            InterventionRequest.requester_organization_id == requester,
            InterventionRequest.idempotency_key == key,
        )
    )
    return found


async def request_intervention(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewIntervention
) -> InterventionRequest:
    """Ask an embassy to locate and assist the person of the actor's own case. Idempotent."""
    requester = actor.organization_id
    if requester is None:
        raise HubError(ErrorCode.FORBIDDEN, "requests are made by member organisations")
    key = check_idempotency_key(new.idempotency_key)
    digest = _fingerprint(new)
    return await once(
        db,
        lambda session: _existing(session, requester, key),
        lambda: _submit(db, actor, cipher, new, key, digest),
        digest,
        "intervention request",
    )


async def _embassy_for(session: AsyncSession, embassy_id: str, country: str) -> Organization:
    embassy = await session.get(Organization, embassy_id)
    if embassy is None or embassy.status != MembershipStatus.ACTIVE:
        raise _bad("the embassy is not an active member")
    if embassy.kind != OrganizationKind.EMBASSY:
        raise _bad("the target of an intervention request must be an embassy")
    if embassy.country != country and country not in embassy.areas_served:
        raise _bad("this embassy does not cover the country the person is in")
    return embassy


async def _submit(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    new: NewIntervention,
    key: str,
    digest: str,
) -> InterventionRequest:
    requester = actor.organization_id
    assert requester is not None
    now = utcnow()
    country = check_request_country(new.current_country)
    location = (new.last_known_location or "").strip() or None
    if location is not None and len(location) > MAX_LOCATION:
        raise _bad(f"lastKnownLocation is longer than {MAX_LOCATION} characters")
    acknowledge_by = new.acknowledge_by or now + DEFAULT_DEADLINES[new.urgency][0]
    if acknowledge_by <= now:
        raise _bad("acknowledgeBy must be in the future")
    async with db.write() as session:
        case = await load_owned_case(session, actor, new.case_id)
        embassy = await _embassy_for(session, new.embassy_id, country)
        grants = (await load_grants(session, [case.id])).get(case.id, [])
        if not covers(grants, Recipient(embassy.id, embassy.kind), Purpose.REPATRIATION, now):
            raise HubError(
                ErrorCode.CONSENT_REQUIRED,
                "no consent in force (the person's own, or a family member's with its basis) "
                "covers the embassy for REPATRIATION",
            )
        request_id = str(uuid.uuid4())
        request = InterventionRequest(
            id=request_id,
            case_id=case.id,
            requester_organization_id=requester,
            embassy_organization_id=embassy.id,
            current_country=country,
            reported_by=new.reported_by.value,
            urgency=new.urgency.value,
            status=S.SUBMITTED.value,
            outcome=None,
            version=1,
            last_known_location_sealed=(await case_cipher(session, cipher, case.id)).seal(
                location, table=TABLE, column="last_known_location", row_id=request_id
            )
            if location
            else None,
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
            InterventionChange(
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
        if embassy.id != requester:
            session.add(
                CaseParty(
                    case_id=case.id,
                    organization_id=embassy.id,
                    purpose=Purpose.REPATRIATION.value,
                    source_type="INTERVENTION",
                    source_id=request_id,
                    valid_from=now,
                )
            )
        await session.flush()
        await set_case_status(
            session, cipher, case, CaseStatus.ABROAD, f"intervention {request_id}", now
        )
        await emit(
            session,
            topic="REPATRIATION",
            type="INTERVENTION_REQUESTED",
            subject_id=request_id,
            actor_organization_id=requester,
            audience=_audience(request),
            payload=intervention_payload(request),
        )
        await record_audit(
            session,
            actor_organization_id=requester,
            actor_client_id=actor.client_id,
            action="intervention.request",
            subject_type="InterventionRequest",
            subject_id=request_id,
            detail={"caseId": case.id, "embassy": embassy.id, "reportedBy": request.reported_by},
            request_id=actor.request_id,
        )
    return request


async def load_intervention(
    session: AsyncSession, actor: Principal, request_id: str
) -> InterventionRequest:
    """The request if the actor is its requester or embassy; NOT_FOUND otherwise."""
    request = await session.get(InterventionRequest, request_id)
    if request is None or not roles_of(request, actor.organization_id):
        raise not_found("intervention request")
    return request


async def _step(
    session: AsyncSession,
    actor: Principal,
    cipher: FieldCipher,
    request: InterventionRequest,
    action: str,
    note: str | None,
    note_category: DataCategory | None,
    expected_version: int | None,
    extra: dict[str, object] | None = None,
) -> InterventionRequest:
    """One transition inside the caller's transaction: table, version, history, event, audit."""
    if expected_version is not None and expected_version != request.version:
        raise HubError(ErrorCode.CONFLICT, "the request was changed by someone else")
    roles = roles_of(request, actor.organization_id)
    allowed = [r for r in roles if INTERVENTION_WORKFLOW.allows(request.status, action, r)]
    role = allowed[0] if allowed else sorted(roles)[0]
    step = INTERVENTION_WORKFLOW.next_state(request.status, action, role, roles)
    why = check_reason_text(note, step.needs_reason)
    previous = request.status
    target = step.target
    now = utcnow()
    values: dict[str, object] = {
        "status": target,
        "version": request.version + 1,
        "updated_at": now,
        **(extra or {}),
    }
    found = outcome_of(target)
    if found is not None:
        values["outcome"] = found.value
    if target != S.SUBMITTED:
        values["overdue"] = False
    result = await session.execute(
        update(InterventionRequest)
        .where(InterventionRequest.id == request.id, InterventionRequest.version == request.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise HubError(ErrorCode.CONFLICT, "the request was changed by someone else")
    change_id = str(uuid.uuid4())
    session.add(
        InterventionChange(
            id=change_id,
            request_id=request.id,
            action=action,
            from_status=previous,
            to_status=target,
            by_organization_id=actor.organization_id,
            at=now,
            version=request.version + 1,
            note_sealed=(await case_cipher(session, cipher, request.case_id)).seal(
                why, table="intervention_changes", column="note", row_id=change_id
            )
            if why
            else None,
            note_category=stored_category(TextField.INTERVENTION_CHANGE_NOTE, note_category)
            if why
            else None,
        )
    )
    await session.refresh(request)
    if target in (S.CLOSED, S.CANCELLED):
        # The embassy's standing from this request ends; a repatriation request keeps its own.
        await session.execute(
            update(CaseParty)
            .where(CaseParty.source_type == "INTERVENTION", CaseParty.source_id == request.id)
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
    await emit(
        session,
        topic="REPATRIATION",
        type=f"INTERVENTION_{target}",
        subject_id=request.id,
        actor_organization_id=actor.organization_id,
        audience=_audience(request),
        payload=intervention_payload(request),
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=f"intervention.{action.lower()}",
        subject_type="InterventionRequest",
        subject_id=request.id,
        detail={"from": previous, "to": target},
        request_id=actor.request_id,
    )
    return request


async def act(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    request_id: str,
    action: InterventionAction | str,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    note_category: DataCategory | None = None,
) -> InterventionRequest:
    """Apply one action from the intervention table, as whichever role allows it."""
    if str(action) == InterventionAction.REQUEST_REPATRIATION:
        raise _bad("a repatriation request is opened with requestRepatriationFromIntervention")
    async with db.write() as session:
        request = await load_intervention(session, actor, request_id)
        return await _step(
            session, actor, cipher, request, str(action), note, note_category, expected_version
        )


async def update_status(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    request_id: str,
    status: InterventionStatus,
    note: str | None,
    expected_version: int | None,
    note_category: DataCategory | None = None,
) -> InterventionRequest:
    """`updateIntervention`: move to ``status`` if the table allows it from here."""
    async with db.read() as session:
        request = await load_intervention(session, actor, request_id)
    return await act(
        db,
        actor,
        cipher,
        request_id,
        action_for_update(request.status, status),
        note=note,
        expected_version=expected_version,
        note_category=note_category,
    )


async def repatriate_from_intervention(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    intervention_id: str,
    new: NewRepatriation,
    expected_version: int | None = None,
) -> RepatriationRequest:
    """Open the repatriation request a found person leads into: same case, same embassy,
    linked both ways, in one transaction with the intervention's own step."""
    async with db.read() as session:
        request = await load_intervention(session, actor, intervention_id)
    roles = roles_of(request, actor.organization_id)
    if request.repatriation_request_id is None:
        # Refused in the table's words before the repatriation is looked at; checked again
        # in the write transaction, where it counts. (Done already: a retry, answered below.)
        if expected_version is not None and expected_version != request.version:
            raise HubError(ErrorCode.CONFLICT, "the request was changed by someone else")
        role = Role.SENDER if Role.SENDER in roles else Role.RECEIVER
        INTERVENTION_WORKFLOW.next_state(
            request.status, InterventionAction.REQUEST_REPATRIATION, role, roles
        )
    linked = NewRepatriation(
        case_id=request.case_id,
        embassy_id=request.embassy_organization_id,
        reception_organization_id=new.reception_organization_id,
        current_country=request.current_country,
        situation=new.situation,
        documents_held=new.documents_held,
        assistance_needed=new.assistance_needed,
        urgency=new.urgency,
        idempotency_key=new.idempotency_key,
        acknowledge_by=new.acknowledge_by,
        notes=new.notes,
        notes_category=new.notes_category,
    )

    async def lead_in(session: AsyncSession, repatriation: RepatriationRequest) -> None:
        current = await load_intervention(session, actor, intervention_id)
        await _step(
            session,
            actor,
            cipher,
            current,
            InterventionAction.REQUEST_REPATRIATION,
            None,
            None,
            expected_version,
            {"repatriation_request_id": repatriation.id},
        )

    return await request_repatriation(db, actor, cipher, linked, lead_in)


class InterventionBox:
    INBOX = "INBOX"  # addressed to me, as the embassy
    OUTBOX = "OUTBOX"  # requests I made


async def list_interventions(
    db: Database,
    actor: Principal,
    box: str,
    status: InterventionStatus | None,
    first: int,
    after: str | None,
) -> tuple[list[InterventionRequest], bool]:
    check_page_size(first)
    if not actor.has(READ_SCOPE):
        return [], False
    org = actor.organization_id
    mine: ColumnElement[bool] = (
        InterventionRequest.embassy_organization_id == org
        if box == InterventionBox.INBOX
        else InterventionRequest.requester_organization_id == org
    )
    query = (
        select(InterventionRequest)
        .where(mine)
        .order_by(InterventionRequest.created_at.desc(), InterventionRequest.id.desc())
        .limit(first + 1)
    )
    if status is not None:
        query = query.where(InterventionRequest.status == status.value)
    if after:
        query = query.where(
            after_cursor(after, InterventionRequest.created_at, InterventionRequest.id)
        )
    async with db.read() as session:
        rows = list(await session.scalars(query))
    return rows[:first], len(rows) > first


async def get_intervention(
    db: Database, actor: Principal, request_id: str, *, reading: bool = True
) -> InterventionRequest:
    if reading and not actor.has(READ_SCOPE):
        raise not_found("intervention request")
    async with db.read() as session:
        return await load_intervention(session, actor, request_id)
