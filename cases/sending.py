"""Sending a referral: one write transaction of one SELECT and a few inserts.

Everything that needs no database (validation, deadlines, the request fingerprint, sealing
the free text, the rows, the event payload and the audit detail) is computed before the
write opens, so SQLite's write lock is held only for the statements themselves. One SELECT
then answers every question the send asks of the database: was this idempotency key used
already, may the sender see the case and does it own it, is the receiver an active member
offering these services, what consent the case holds, and who is party to it now (the
audience if the case's status changes). The rows go in as Core inserts: no ORM unit of
work, no flush, nothing read back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import parties_in_force, to_grant, visible_to
from cases.case_keys import case_cipher
from cases.erasure_models import CaseKeyRow
from cases.free_text import TextField, stored_category
from cases.models import Case, CaseParty, CaseStatusChange, Referral, ReferralChange
from cases.paging import check_idempotency_key, fingerprint
from cases.referral_rules import (
    DEFAULT_DEADLINES,
    ReferralStatus,
    Urgency,
    offer_refusal,
    purpose_of,
)
from cases.rules import CaseStatus
from cases.service import seal_note
from cases.workflow import check_reason_text
from consent.models import ConsentGrant, ConsentWithdrawal
from consent.rules import DataCategory, Grant, Purpose, Recipient, decide
from notifications.outbox import EventDraft, emit_all
from orgs.directory import CapacityStatus
from orgs.models import Organization, ServiceOffer
from orgs.principal import Principal
from orgs.rules import MembershipStatus, ServiceCategory
from store.audit import HEAD, append_audit, head_of
from store.case_keys import CaseCipher, unwrap
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import UTCDateTime, utcnow

MAX_NOTES = 4_000
# The tables behind the models: Core statements, no unit of work.
_REFERRALS = cast(Table, Referral.__table__)
_PARTIES = cast(Table, CaseParty.__table__)
_CHANGES = cast(Table, ReferralChange.__table__)
_CASES = cast(Table, Case.__table__)
_STATUS_CHANGES = cast(Table, CaseStatusChange.__table__)
# Aggregated lists come back as one string; ids and enum values never contain these.
_LIST = ","
_PAIR = ":"


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


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


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


def fingerprint_of(new: NewReferral) -> str:
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


def check_new(new: NewReferral, now: datetime) -> tuple[datetime, datetime]:
    """The request's own checks (no database): its deadlines, defaulted by urgency."""
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


@dataclass(frozen=True, slots=True)
class _Draft:
    """The send's rows, complete before the transaction opens."""

    referral: Referral
    values: dict[str, Any]
    texts: dict[str, str]  # sealed column -> plain text, sealed under the case key on write
    change: dict[str, Any]
    party: dict[str, Any]
    event: EventDraft
    detail: dict[str, Any]


def _draft(
    sender: str,
    cipher: FieldCipher,
    new: NewReferral,
    key: str,
    now: datetime,
    deadlines: tuple[datetime, datetime],
) -> _Draft:
    acknowledge_by, respond_by = deadlines
    referral_id = str(uuid.uuid4())
    purpose = Purpose(purpose_of(list(new.services)))
    services = sorted({s.value for s in new.services})

    # Sealed in the transaction, under the case's own key (see ``_seal_texts``).
    texts = {"reason_sealed": new.reason.strip()}
    if new.notes:
        texts["notes_sealed"] = new.notes

    values: dict[str, Any] = {
        "id": referral_id,
        "case_id": new.case_id,
        "sender_organization_id": sender,
        "receiver_organization_id": new.receiver_organization_id,
        "services": services,
        "urgency": new.urgency.value,
        "purpose": purpose.value,
        "status": ReferralStatus.SENT.value,
        "version": 1,
        "reason_sealed": None,
        "notes_sealed": None,
        "outcome_services": None,
        "outcome_note_sealed": None,
        "reason_category": stored_category(TextField.REFERRAL_REASON, new.reason_category),
        "notes_category": stored_category(TextField.REFERRAL_NOTES, new.notes_category),
        "outcome_note_category": None,
        "held_from": None,
        "held_for_consent": False,
        "acknowledge_by": acknowledge_by,
        "respond_by": respond_by,
        "overdue": False,
        "reminded_at": None,
        "escalated_at": None,
        "idempotency_key": key,
        "request_fingerprint": fingerprint_of(new),
        "created_at": now,
        "updated_at": now,
    }
    referral = Referral(**values)
    return _Draft(
        referral=referral,
        values=values,
        texts=texts,
        change={
            "id": str(uuid.uuid4()),
            "referral_id": referral_id,
            "action": "SEND",
            "from_status": None,
            "to_status": ReferralStatus.SENT.value,
            "by_organization_id": sender,
            "at": now,
            "version": 1,
            "reason_sealed": None,
            "reason_category": None,
        },
        party={
            "case_id": new.case_id,
            "organization_id": new.receiver_organization_id,
            "purpose": purpose.value,
            "source_type": "REFERRAL",
            "source_id": referral_id,
            "valid_from": now,
            "valid_until": None,
            "ended_at": None,
        },
        event=EventDraft(
            topic="REFERRAL",
            type="REFERRAL_SENT",
            subject_id=referral_id,
            actor_organization_id=sender,
            audience=(sender, new.receiver_organization_id),
            payload=event_payload(referral),
            occurred_at=now,
        ),
        detail={
            "caseId": new.case_id,
            "receiver": new.receiver_organization_id,
            "services": services,
        },
    )


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the one SELECT found: every answer the send needs from the database."""

    earlier_id: str | None
    earlier_fingerprint: str | None
    case_owner: str | None  # None: no case the sender may see
    case_status: str | None
    receiver_status: str | None
    receiver_kind: str | None
    offers: dict[str, str]  # category -> capacity status, for the services asked
    parties: list[str]  # organisations party to the case now
    grants: list[Grant]
    audit_head: tuple[int, str]  # the audit chain's head (see store.audit.append_audit)
    wrapped_key: str | None  # the case's key (None: a case from before case keys)


def _facts_query() -> Select[Any]:
    """One row per consent grant of the case (at least one row, whatever exists). Built
    once, with bound parameters: building it per send cost more than running it."""
    sender = bindparam("sender", type_=String())
    at = bindparam("at", type_=UTCDateTime())
    case_id = bindparam("case_id", type_=String())
    receiver = bindparam("receiver", type_=String())
    offers = (
        select(
            func.aggregate_strings(
                ServiceOffer.category + _PAIR + ServiceOffer.capacity_status, _LIST
            )
        )
        .where(
            ServiceOffer.organization_id == receiver,
            ServiceOffer.category.in_(bindparam("services", expanding=True)),
        )
        .scalar_subquery()
    )
    parties = (
        select(func.aggregate_strings(CaseParty.organization_id, _LIST))
        .where(CaseParty.case_id == case_id, parties_in_force(cast(datetime, at)))
        .scalar_subquery()
    )
    # The case's wrapped key rides along: the texts are sealed under it, no extra trip.
    wrapped_key = select(CaseKeyRow.wrapped).where(CaseKeyRow.case_id == case_id).scalar_subquery()
    one = select(literal(1).label("one")).subquery("one")
    return (
        select(
            Referral.id.label("earlier_id"),
            Referral.request_fingerprint.label("earlier_fingerprint"),
            Case.owner_organization_id.label("case_owner"),
            Case.status.label("case_status"),
            visible_to(cast(str, sender), cast(datetime, at)).label("visible"),
            Organization.status.label("receiver_status"),
            Organization.kind.label("receiver_kind"),
            offers.label("offers"),
            parties.label("parties"),
            wrapped_key.label("wrapped_key"),
            ConsentGrant,
            ConsentWithdrawal.at.label("withdrawn_at"),
            HEAD.c.seq.label("audit_seq"),
            HEAD.c.hash.label("audit_hash"),
        )
        .select_from(one)
        .outerjoin(HEAD, true())
        .outerjoin(
            Referral,
            and_(
                Referral.sender_organization_id == sender,
                Referral.idempotency_key == bindparam("key", type_=String()),
            ),
        )
        .outerjoin(Case, Case.id == case_id)
        .outerjoin(Organization, Organization.id == receiver)
        .outerjoin(ConsentGrant, ConsentGrant.case_id == Case.id)
        .outerjoin(ConsentWithdrawal, ConsentWithdrawal.grant_id == ConsentGrant.id)
    )


_FACTS = _facts_query()
_INSERT_REFERRAL = insert(_REFERRALS)
_INSERT_PARTY = insert(_PARTIES)
_INSERT_CHANGE = insert(_CHANGES)


def _split(joined: str | None) -> list[str]:
    return joined.split(_LIST) if joined else []


async def _facts(
    session: AsyncSession, sender: str, key: str, new: NewReferral, at: datetime
) -> _Facts:
    params = {
        "sender": sender,
        "key": key,
        "case_id": new.case_id,
        "receiver": new.receiver_organization_id,
        "services": [s.value for s in new.services],
        "at": at,
    }
    rows = (await session.execute(_FACTS, params)).all()
    top = rows[0]
    offers = dict(pair.split(_PAIR, 1) for pair in _split(top.offers))
    return _Facts(
        earlier_id=top.earlier_id,
        earlier_fingerprint=top.earlier_fingerprint,
        case_owner=top.case_owner if top.visible else None,
        case_status=top.case_status,
        receiver_status=top.receiver_status,
        receiver_kind=top.receiver_kind,
        offers=offers,
        parties=_split(top.parties),
        grants=[to_grant(r.ConsentGrant, r.withdrawn_at) for r in rows if r.ConsentGrant],
        audit_head=head_of(top.audit_seq, top.audit_hash),
        wrapped_key=top.wrapped_key,
    )


def _check(facts: _Facts, sender: str, new: NewReferral, purpose: Purpose, at: datetime) -> None:
    """The send's refusals, in the order a caller meets them."""
    if facts.case_owner is None:
        raise not_found("case")
    if facts.case_owner != sender:
        raise HubError(ErrorCode.FORBIDDEN, "only the organisation that owns the case may do this")
    if new.receiver_organization_id == sender:
        raise _bad("an organisation cannot refer a case to itself")
    if facts.receiver_status != MembershipStatus.ACTIVE or facts.receiver_kind is None:
        raise _bad("the receiving organisation is not an active member")
    closed = [c for c, status in facts.offers.items() if status == CapacityStatus.NOT_ACCEPTING]
    refusal = offer_refusal(new.services, facts.offers, closed)
    if refusal:
        raise _bad(refusal)
    recipient = Recipient(new.receiver_organization_id, facts.receiver_kind)
    if not any(decide(facts.grants, recipient, purpose, c, at).allowed for c in DataCategory):
        raise HubError(
            ErrorCode.CONSENT_REQUIRED,
            f"the survivor's consent does not cover this receiver for {purpose.value}",
        )


async def _write(
    session: AsyncSession, cipher: FieldCipher, actor: Principal, draft: _Draft, facts: _Facts
) -> None:
    referral = draft.referral
    sealer = (
        CaseCipher(cipher, unwrap(cipher, facts.wrapped_key, referral.case_id))
        if facts.wrapped_key is not None
        else await case_cipher(session, cipher, referral.case_id)
    )
    for column, plain in draft.texts.items():
        sealed = sealer.seal(
            plain, table="referrals", column=column.removesuffix("_sealed"), row_id=referral.id
        )
        draft.values[column] = sealed
        setattr(referral, column, sealed)
    conn = await session.connection()
    await conn.execute(_INSERT_REFERRAL, draft.values)
    await conn.execute(_INSERT_PARTY, draft.party)
    await conn.execute(_INSERT_CHANGE, draft.change)
    events = [draft.event]
    owner = facts.case_owner
    assert owner is not None
    if facts.case_status != CaseStatus.REFERRED:
        # The case follows its first open referral (cases.service.set_case_status, in
        # statements: the receiver just became a party, so it hears of the change too).
        at = referral.created_at
        await session.execute(
            update(_CASES)
            .where(Case.id == referral.case_id)
            .values(
                status=CaseStatus.REFERRED.value,
                version=_CASES.c.version + 1,
                updated_at=at,
            )
        )
        await session.execute(
            insert(_STATUS_CHANGES).values(
                case_id=referral.case_id,
                status=CaseStatus.REFERRED.value,
                at=at,
                by_organization_id=owner,
                note=seal_note(sealer, f"referral {referral.id} sent", referral.case_id),
            )
        )
        events.insert(
            0,
            EventDraft(
                topic="CASE",
                type="CASE_STATUS_CHANGED",
                subject_id=referral.case_id,
                actor_organization_id=owner,
                audience=(owner, *facts.parties, referral.receiver_organization_id),
                payload={
                    "caseId": referral.case_id,
                    "from": facts.case_status,
                    "to": CaseStatus.REFERRED.value,
                },
                occurred_at=at,
            ),
        )
    await emit_all(session, events)
    await append_audit(
        session,
        at=referral.created_at,
        actor_organization_id=referral.sender_organization_id,
        actor_client_id=actor.client_id,
        action="referral.send",
        subject_type="Referral",
        subject_id=referral.id,
        detail=draft.detail,
        request_id=actor.request_id,
        head=facts.audit_head,
    )


def _same_request(earlier_fingerprint: str | None, digest: str) -> None:
    if earlier_fingerprint != digest:
        raise HubError(ErrorCode.CONFLICT, "idempotencyKey was used for another referral")


async def send_referral(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewReferral
) -> Referral:
    """Send a referral of the actor's own case. A retried send returns the same referral,
    a key reused for another request is CONFLICT, and of two retries racing, the loser
    answers with what the winner stored."""
    sender = actor.organization_id
    if sender is None:
        raise HubError(ErrorCode.FORBIDDEN, "referrals are sent by member organisations")
    now = utcnow()
    deadlines = check_new(new, now)
    key = check_idempotency_key(new.idempotency_key)
    draft = _draft(sender, cipher, new, key, now, deadlines)
    referral = draft.referral
    digest = referral.request_fingerprint
    purpose = Purpose(referral.purpose)
    try:
        async with db.write() as session:
            facts = await _facts(session, sender, key, new, referral.created_at)
            if facts.earlier_id is not None:
                _same_request(facts.earlier_fingerprint, digest)
                earlier = await session.get(Referral, facts.earlier_id)
                assert earlier is not None
                return earlier
            _check(facts, sender, new, purpose, referral.created_at)
            await _write(session, cipher, actor, draft, facts)
    except IntegrityError:
        # Two retries raced past the SELECT (PostgreSQL reads committed rows only): the
        # unique (sender, key) stopped the second; answer with what the first stored.
        async with db.read() as session:
            earlier = await session.scalar(
                select(Referral).where(
                    Referral.sender_organization_id == sender, Referral.idempotency_key == key
                )
            )
        if earlier is None:
            raise  # another constraint failed: a bug, not a retry
        _same_request(earlier.request_fingerprint, digest)
        return earlier
    return referral
