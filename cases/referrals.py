"""Referral operations: send, move through the lifecycle, read boxes. One transaction each,
with its history row, event and audit entry; the case's status follows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants
from cases.free_text import TextField, stored_category
from cases.models import Case, CaseParty, Referral, ReferralChange
from cases.paging import (
    after_cursor,
    check_idempotency_key,
    check_page_size,
    fingerprint,
    once,
)
from cases.referral_rules import (
    DEFAULT_DEADLINES,
    OPEN,
    REFERRAL_WORKFLOW,
    ReferralAction,
    ReferralStatus,
    Urgency,
    check_not_held_for_consent,
    purpose_of,
)
from cases.rules import CaseStatus
from cases.service import load_owned_case, set_case_status
from cases.workflow import Role, check_reason_text
from consent.rules import DataCategory, Purpose, Recipient, decide
from notifications.outbox import emit
from orgs.directory import CapacityStatus, offered
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, ServiceCategory
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

MAX_NOTES = 4_000
READ_SCOPE = "referrals:read"
_EVENT = {
    ReferralAction.ACKNOWLEDGE: "REFERRAL_ACKNOWLEDGED",
    ReferralAction.ACCEPT: "REFERRAL_ACCEPTED",
    ReferralAction.DECLINE: "REFERRAL_DECLINED",
    ReferralAction.HOLD: "REFERRAL_ON_HOLD",
    ReferralAction.START: "REFERRAL_STARTED",
    ReferralAction.COMPLETE: "REFERRAL_COMPLETED",
    ReferralAction.FAIL: "REFERRAL_FAILED",
    ReferralAction.CANCEL: "REFERRAL_CANCELLED",
    ReferralAction.EXPIRE: "REFERRAL_EXPIRED",
}
# A receiver that never took the case on stops being party to it.
_ENDS_RELATION = frozenset(
    {ReferralStatus.DECLINED, ReferralStatus.CANCELLED, ReferralStatus.EXPIRED}
)


@dataclass(frozen=True, slots=True)
class NewReferral:
    case_id: str
    receiver_organization_id: str
    services: Sequence[ServiceCategory]
    urgency: Urgency
    reason: str
    idempotency_key: str
    notes: str | None = None
    acknowledge_by: datetime | None = None
    respond_by: datetime | None = None
    reason_category: DataCategory | None = None
    notes_category: DataCategory | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    services_delivered: Sequence[ServiceCategory]
    note: str | None = None
    note_category: DataCategory | None = None


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def _seal(cipher: FieldCipher, text: str, column: str, row_id: str) -> str:
    return cipher.seal(text, table="referrals", column=column, row_id=row_id)


def open_text(cipher: FieldCipher, sealed: str | None, column: str, row_id: str) -> str | None:
    if sealed is None:
        return None
    return cipher.open(sealed, table="referrals", column=column, row_id=row_id)


def _fingerprint(new: NewReferral) -> str:
    return fingerprint(
        [
            new.case_id,
            new.receiver_organization_id,
            sorted(s.value for s in new.services),
            new.urgency.value,
            new.reason,
            new.notes,
            new.acknowledge_by.isoformat() if new.acknowledge_by else None,
            new.respond_by.isoformat() if new.respond_by else None,
            new.reason_category,
            new.notes_category,
        ]
    )


def _check_new(new: NewReferral, now: datetime) -> tuple[datetime, datetime]:
    if not new.services:
        raise _bad("services: ask for at least one service")
    check_reason_text(new.reason, True)
    if new.notes is not None and len(new.notes) > MAX_NOTES:
        raise _bad(f"notes are longer than {MAX_NOTES} characters")
    check_idempotency_key(new.idempotency_key)
    ack_in, respond_in = DEFAULT_DEADLINES[new.urgency]
    acknowledge_by = new.acknowledge_by or now + ack_in
    respond_by = new.respond_by or max(now + respond_in, acknowledge_by)
    if acknowledge_by <= now or respond_by < acknowledge_by:
        raise _bad("deadlines must be in the future, and respondBy not before acknowledgeBy")
    return acknowledge_by, respond_by


async def _consent_covers(
    session: AsyncSession, case: Case, receiver: Organization, purpose: Purpose, at: datetime
) -> bool:
    grants = (await load_grants(session, [case.id])).get(case.id, [])
    recipient = Recipient(receiver.id, receiver.kind)
    return any(decide(grants, recipient, purpose, c, at).allowed for c in DataCategory)


async def _existing(session: AsyncSession, sender: str, key: str) -> Referral | None:
    found: Referral | None = await session.scalar(
        select(Referral).where(
            Referral.sender_organization_id == sender, Referral.idempotency_key == key
        )
    )
    return found


async def send_referral(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewReferral
) -> Referral:
    """Send a referral of the actor's own case. A retried send returns the same referral."""
    sender = actor.organization_id
    if sender is None:
        raise HubError(ErrorCode.FORBIDDEN, "referrals are sent by member organisations")
    now = utcnow()
    acknowledge_by, respond_by = _check_new(new, now)
    digest = _fingerprint(new)
    key = check_idempotency_key(new.idempotency_key)
    return await once(
        db,
        lambda session: _existing(session, sender, key),
        lambda: _send(db, actor, cipher, new, key, digest, acknowledge_by, respond_by),
        digest,
        "referral",
    )


async def _send(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    new: NewReferral,
    key: str,
    digest: str,
    acknowledge_by: datetime,
    respond_by: datetime,
) -> Referral:
    sender = actor.organization_id
    assert sender is not None
    now = utcnow()
    async with db.write() as session:
        case = await load_owned_case(session, actor, new.case_id)
        if new.receiver_organization_id == sender:
            raise _bad("an organisation cannot refer a case to itself")
        receiver = await session.get(Organization, new.receiver_organization_id)
        if receiver is None or receiver.status != MembershipStatus.ACTIVE:
            raise _bad("the receiving organisation is not an active member")
        offers = await offered(session, receiver.id, new.services)
        missing = [s.value for s in new.services if s.value not in offers]
        closed = [c for c, o in offers.items() if o.capacity_status == CapacityStatus.NOT_ACCEPTING]
        if missing:
            raise _bad(f"the receiver does not offer: {', '.join(sorted(missing))}")
        if closed:
            raise _bad(f"the receiver is not accepting referrals for: {', '.join(sorted(closed))}")
        purpose = Purpose(purpose_of(list(new.services)))
        if not await _consent_covers(session, case, receiver, purpose, now):
            raise HubError(
                ErrorCode.CONSENT_REQUIRED,
                f"the survivor's consent does not cover this receiver for {purpose.value}",
            )
        referral_id = str(uuid.uuid4())
        referral = Referral(
            id=referral_id,
            case_id=case.id,
            sender_organization_id=sender,
            receiver_organization_id=receiver.id,
            services=sorted({s.value for s in new.services}),
            urgency=new.urgency.value,
            purpose=purpose.value,
            status=ReferralStatus.SENT.value,
            version=1,
            reason_sealed=_seal(cipher, new.reason.strip(), "reason", referral_id),
            notes_sealed=_seal(cipher, new.notes, "notes", referral_id) if new.notes else None,
            reason_category=stored_category(TextField.REFERRAL_REASON, new.reason_category),
            notes_category=stored_category(TextField.REFERRAL_NOTES, new.notes_category),
            acknowledge_by=acknowledge_by,
            respond_by=respond_by,
            overdue=False,
            idempotency_key=key,
            request_fingerprint=digest,
            created_at=now,
            updated_at=now,
        )
        session.add(referral)
        await session.flush()
        session.add(
            ReferralChange(
                id=str(uuid.uuid4()),
                referral_id=referral_id,
                action="SEND",
                from_status=None,
                to_status=referral.status,
                by_organization_id=sender,
                at=now,
                version=1,
            )
        )
        session.add(
            CaseParty(
                case_id=case.id,
                organization_id=receiver.id,
                purpose=purpose.value,
                source_type="REFERRAL",
                source_id=referral_id,
                valid_from=now,
            )
        )
        await set_case_status(
            session, cipher, case, CaseStatus.REFERRED, f"referral {referral_id} sent", now
        )
        await emit(
            session,
            topic="REFERRAL",
            type="REFERRAL_SENT",
            subject_id=referral_id,
            actor_organization_id=sender,
            audience=[sender, receiver.id],
            payload=event_payload(referral),
        )
        await record_audit(
            session,
            actor_organization_id=sender,
            actor_client_id=actor.client_id,
            action="referral.send",
            subject_type="Referral",
            subject_id=referral_id,
            detail={"caseId": case.id, "receiver": receiver.id, "services": referral.services},
            request_id=actor.request_id,
        )
    return referral


def event_payload(referral: Referral) -> dict[str, object]:
    """What an event says about a referral: ids, status, version. Never free text."""
    return {
        "referralId": referral.id,
        "caseId": referral.case_id,
        "status": referral.status,
        "version": referral.version,
        "sender": referral.sender_organization_id,
        "receiver": referral.receiver_organization_id,
    }


def role_of(referral: Referral, organization_id: str | None) -> Role | None:
    if organization_id == referral.sender_organization_id:
        return Role.SENDER
    if organization_id == referral.receiver_organization_id:
        return Role.RECEIVER
    return None


async def load_referral(session: AsyncSession, actor: Principal, referral_id: str) -> Referral:
    """The referral if the actor is its sender or receiver; NOT_FOUND otherwise."""
    referral = await session.get(Referral, referral_id)
    if referral is None or role_of(referral, actor.organization_id) is None:
        raise not_found("referral")
    return referral


async def transition_referral(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    referral_id: str,
    action: ReferralAction,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    outcome: Outcome | None = None,
    reason_category: DataCategory | None = None,
) -> Referral:
    """Apply one action from the referral table; a stale version is CONFLICT."""
    async with db.write() as session:
        referral = await load_referral(session, actor, referral_id)
        role = role_of(referral, actor.organization_id)
        assert role is not None
        return await apply_action(
            session,
            cipher,
            referral,
            action,
            role,
            actor,
            reason,
            expected_version,
            outcome,
            reason_category,
        )


async def apply_action(
    session: AsyncSession,
    cipher: FieldCipher,
    referral: Referral,
    action: ReferralAction,
    role: Role,
    actor: Principal | None,
    reason: str | None,
    expected_version: int | None,
    outcome: Outcome | None,
    reason_category: DataCategory | None = None,
) -> Referral:
    if expected_version is not None and expected_version != referral.version:
        raise HubError(ErrorCode.CONFLICT, "the referral was changed by someone else")
    previous = referral.status
    check_not_held_for_consent(referral.held_for_consent, action)
    step = REFERRAL_WORKFLOW.next_state(previous, action, role)
    why = check_reason_text(reason, step.needs_reason)
    now = utcnow()
    values: dict[str, object] = {
        "status": step.target,
        "version": referral.version + 1,
        "updated_at": now,
    }
    if action is ReferralAction.COMPLETE:
        if outcome is None or not outcome.services_delivered:
            raise _bad("outcome: name the services delivered")
        if outcome.note is not None and len(outcome.note) > MAX_NOTES:
            raise _bad(f"outcome note is longer than {MAX_NOTES} characters")
        values["outcome_services"] = sorted({s.value for s in outcome.services_delivered})
        if outcome.note:
            values["outcome_note_sealed"] = _seal(cipher, outcome.note, "outcome_note", referral.id)
            values["outcome_note_category"] = stored_category(
                TextField.REFERRAL_OUTCOME_NOTE, outcome.note_category
            )
    if step.target != ReferralStatus.SENT:
        values["overdue"] = False
    if step.target in REFERRAL_WORKFLOW.final:
        values.update(held_from=None, held_for_consent=False)
    result = await session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.version == referral.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise HubError(ErrorCode.CONFLICT, "the referral was changed by someone else")
    change_id = str(uuid.uuid4())
    session.add(
        ReferralChange(
            id=change_id,
            referral_id=referral.id,
            action=action.value,
            from_status=previous,
            to_status=step.target,
            by_organization_id=actor.organization_id if actor else None,
            at=now,
            version=referral.version + 1,
            reason_sealed=cipher.seal(
                why, table="referral_changes", column="reason", row_id=change_id
            )
            if why
            else None,
            reason_category=stored_category(TextField.REFERRAL_CHANGE_REASON, reason_category)
            if why
            else None,
        )
    )
    await session.refresh(referral)
    case = await session.get(Case, referral.case_id)
    assert case is not None
    if step.target in _ENDS_RELATION:
        await session.execute(
            update(CaseParty)
            .where(CaseParty.source_type == "REFERRAL", CaseParty.source_id == referral.id)
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
    if step.target in REFERRAL_WORKFLOW.final and case.status == CaseStatus.REFERRED:
        still_open = await session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(Referral.case_id == case.id, Referral.status.in_([s.value for s in OPEN]))
        )
        if not still_open:
            await set_case_status(
                session,
                cipher,
                case,
                CaseStatus.IN_CARE,
                f"referral {referral.id} {step.target}",
                now,
            )
    await emit(
        session,
        topic="REFERRAL",
        type=_EVENT[action],
        subject_id=referral.id,
        actor_organization_id=actor.organization_id if actor else None,
        audience=[referral.sender_organization_id, referral.receiver_organization_id],
        payload=event_payload(referral),
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id if actor else None,
        actor_client_id=actor.client_id if actor else "scheduler",
        action=f"referral.{action.value.lower()}",
        subject_type="Referral",
        subject_id=referral.id,
        detail={"from": previous, "to": step.target},
        request_id=actor.request_id if actor else None,
    )
    return referral


class Box:
    INBOX = "INBOX"
    OUTBOX = "OUTBOX"


@dataclass(frozen=True, slots=True)
class Page:
    referrals: list[Referral]
    has_next: bool


async def list_referrals(
    db: Database,
    actor: Principal,
    box: str,
    status: ReferralStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> Page:
    """One page of the actor's inbox or outbox, newest first (none without `referrals:read`)."""
    check_page_size(first)
    if not actor.has(READ_SCOPE):
        return Page([], False)
    async with db.read() as session:
        rows = list(await session.scalars(page_query(actor, box, status, first, after)))
    return Page(rows[:first], len(rows) > first)


def page_query(
    actor: Principal, box: str, status: ReferralStatus | None, first: int, after: str | None
) -> Select[Referral]:
    """The page (and one row more, to tell whether another follows), newest first, in the
    order of the (receiver or sender, created_at, id) index."""
    column = (
        Referral.receiver_organization_id if box == Box.INBOX else Referral.sender_organization_id
    )
    query = (
        select(Referral)
        .where(column == actor.organization_id)
        .order_by(Referral.created_at.desc(), Referral.id.desc())
        .limit(first + 1)
    )
    if status is not None:
        query = query.where(Referral.status == status.value)
    if after:
        query = query.where(after_cursor(after, Referral.created_at, Referral.id))
    return query


async def referral_history(
    db: Database, referral_ids: Sequence[str]
) -> dict[str, list[ReferralChange]]:
    found: dict[str, list[ReferralChange]] = {rid: [] for rid in referral_ids}
    async with db.read() as session:
        rows = await session.scalars(
            select(ReferralChange)
            .where(ReferralChange.referral_id.in_(list(referral_ids)))
            .order_by(ReferralChange.version)
        )
        for row in rows:
            found[row.referral_id].append(row)
    return found


async def get_referral(db: Database, actor: Principal, referral_id: str) -> Referral:
    """The referral for a reader: party to it, and holding `referrals:read`."""
    if not actor.has(READ_SCOPE):
        raise not_found("referral")
    async with db.read() as session:
        return await load_referral(session, actor, referral_id)
