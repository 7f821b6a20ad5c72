"""Referral operations: send, move through the lifecycle, read boxes. One transaction each,
with its history row, event and audit entry; the case's status follows. Sending lives in
``cases.sending`` (a write path counted statement by statement)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.case_keys import case_cipher
from cases.free_text import TextField, stored_category
from cases.models import Case, CaseParty, Referral, ReferralChange
from cases.paging import after_cursor, check_page_size
from cases.referral_rules import (
    OPEN,
    REFERRAL_WORKFLOW,
    ReferralAction,
    ReferralStatus,
    check_not_held_for_consent,
)
from cases.rules import CaseStatus
from cases.sending import MAX_NOTES
from cases.sending import NewReferral as NewReferral  # the send, re-exported for callers
from cases.sending import event_payload as event_payload
from cases.sending import send_referral as send_referral
from cases.service import set_case_status
from cases.workflow import Role, check_reason_text
from consent.rules import DataCategory
from notifications.outbox import emit
from orgs.principal import Principal
from orgs.rules import ServiceCategory
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher, Sealing
from store.types import utcnow

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
class Outcome:
    services_delivered: Sequence[ServiceCategory]
    note: str | None = None
    note_category: DataCategory | None = None


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def _seal(cipher: Sealing, text: str, column: str, row_id: str) -> str:
    return cipher.seal(text, table="referrals", column=column, row_id=row_id)


def open_text(cipher: Sealing, sealed: str | None, column: str, row_id: str) -> str | None:
    if sealed is None:
        return None
    return cipher.open(sealed, table="referrals", column=column, row_id=row_id)


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
    sealer = await case_cipher(session, cipher, referral.case_id)
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
            values["outcome_note_sealed"] = _seal(sealer, outcome.note, "outcome_note", referral.id)
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
            reason_sealed=sealer.seal(
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
