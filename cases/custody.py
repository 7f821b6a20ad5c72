"""Custody transfers: an owner offers its case, the addressee accepts or declines.

Same mechanism as referrals: one table (``cases.custody_rules``), one transaction per step
with its event and audit entry. While the offer is open the addressee is a party to the
case (it must be able to look before it takes it on); on acceptance it owns the case and
the former owner stays a party, seeing only what the survivor's consent gives it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants
from cases.case_keys import case_cipher
from cases.custody_models import CaseTransfer
from cases.custody_rules import (
    CUSTODY_WORKFLOW,
    TransferAction,
    TransferOrigin,
    TransferStatus,
    check_addressee,
    open_offer_conflict,
)
from cases.free_text import TextField, stored_category
from cases.models import Case, CaseParty
from cases.paging import after_cursor, check_idempotency_key, check_page_size, fingerprint, once
from cases.service import load_owned_case
from cases.workflow import Role, check_reason_text
from consent.rules import DataCategory, Grant, Purpose, Recipient, decide
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

READ_SCOPE = "cases:read"
PARTY_SOURCE = "TRANSFER"
# A member's offer serves the survivor's care: the purpose its texts are released for and
# the purpose consent must cover the addressee for. A hand-over's serves her repatriation.
OFFER_PURPOSE = Purpose.SERVICE_REFERRAL


@dataclass(frozen=True, slots=True)
class NewTransfer:
    case_id: str
    to_organization_id: str
    reason: str
    idempotency_key: str
    reason_category: DataCategory | None = None


def roles_of(transfer: CaseTransfer, organization_id: str | None) -> set[Role]:
    roles = set()
    if organization_id == transfer.from_organization_id:
        roles.add(Role.SENDER)
    if organization_id == transfer.to_organization_id:
        roles.add(Role.RECEIVER)
    return roles


def transfer_payload(transfer: CaseTransfer) -> dict[str, object]:
    """What an event says about a transfer: ids, status, origin. Never the reason."""
    return {
        "transferId": transfer.id,
        "caseId": transfer.case_id,
        "status": transfer.status,
        "version": transfer.version,
        "from": transfer.from_organization_id,
        "to": transfer.to_organization_id,
        "origin": transfer.origin,
    }


def consent_covers(grants: Sequence[Grant], organization: Organization, purpose: Purpose) -> bool:
    """Whether the survivor's consent names ``organization`` for ``purpose`` at all: a new
    owner reads everything, so it must be an organisation she agreed to share with."""
    recipient = Recipient(organization.id, organization.kind)
    now = utcnow()
    return any(decide(grants, recipient, purpose, c, now).allowed for c in DataCategory)


async def _require_consent(
    session: AsyncSession, case_id: str, organization: Organization, purpose: Purpose
) -> None:
    grants = (await load_grants(session, [case_id])).get(case_id, [])
    if not consent_covers(grants, organization, purpose):
        raise HubError(
            ErrorCode.CONSENT_REQUIRED,
            f"the survivor's consent does not cover the addressee for {purpose.value}",
        )


def _fingerprint(new: NewTransfer) -> str:
    return fingerprint(
        [new.case_id, new.to_organization_id, new.reason, new.reason_category or None]
    )


async def _existing(session: AsyncSession, offerer: str, key: str) -> CaseTransfer | None:
    found: CaseTransfer | None = await session.scalar(
        select(CaseTransfer).where(
            CaseTransfer.from_organization_id == offerer, CaseTransfer.idempotency_key == key
        )
    )
    return found


async def transfer_case(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewTransfer
) -> CaseTransfer:
    """`transferCase`: the owner offers its case. Idempotent by key; one open offer per case."""
    offerer = actor.organization_id
    if offerer is None:
        raise HubError(ErrorCode.FORBIDDEN, "cases belong to member organisations")
    key = check_idempotency_key(new.idempotency_key)
    reason = check_reason_text(new.reason, True)
    assert reason is not None
    digest = _fingerprint(new)
    try:
        return await once(
            db,
            lambda session: _existing(session, offerer, key),
            lambda: _offer(db, actor, cipher, new, reason, key, digest),
            digest,
            "transfer",
        )
    except IntegrityError as exc:
        # The open-offer index: another offer for this case committed first.
        raise open_offer_conflict() from exc


async def _offer(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    new: NewTransfer,
    reason: str,
    key: str,
    digest: str,
) -> CaseTransfer:
    async with db.write() as session:
        case = await load_owned_case(session, actor, new.case_id)
        addressee = await session.get(Organization, new.to_organization_id)
        if addressee is None:
            raise HubError(ErrorCode.BAD_USER_INPUT, "the addressee is not a member")
        check_addressee(
            case.owner_organization_id,
            addressee.id,
            OrganizationKind(addressee.kind),
            MembershipStatus(addressee.status),
        )
        if await open_offer(session, case.id) is not None:
            raise open_offer_conflict()
        await _require_consent(session, case.id, addressee, OFFER_PURPOSE)
        return await offer_in_session(
            session,
            cipher,
            actor,
            case,
            addressee.id,
            origin=TransferOrigin.OFFER,
            purpose=OFFER_PURPOSE,
            reason=reason,
            reason_category=new.reason_category,
            key=key,
            digest=digest,
        )


async def open_offer(session: AsyncSession, case_id: str) -> CaseTransfer | None:
    found: CaseTransfer | None = await session.scalar(
        select(CaseTransfer).where(
            CaseTransfer.case_id == case_id, CaseTransfer.status == TransferStatus.OFFERED
        )
    )
    return found


async def offer_in_session(
    session: AsyncSession,
    cipher: FieldCipher,
    actor: Principal,
    case: Case,
    to_organization_id: str,
    *,
    origin: TransferOrigin,
    purpose: Purpose,
    reason: str | None,
    reason_category: DataCategory | None,
    key: str,
    digest: str,
    repatriation_id: str | None = None,
) -> CaseTransfer:
    """Write an offer inside the caller's transaction: the row, the addressee's standing
    as a party while it decides, the event to both sides and the audit entry."""
    now = utcnow()
    transfer_id = str(uuid.uuid4())
    transfer = CaseTransfer(
        id=transfer_id,
        case_id=case.id,
        from_organization_id=case.owner_organization_id,
        to_organization_id=to_organization_id,
        origin=origin.value,
        repatriation_id=repatriation_id,
        purpose=purpose.value,
        status=TransferStatus.OFFERED.value,
        version=1,
        reason_sealed=(await case_cipher(session, cipher, case.id)).seal(
            reason, table="case_transfers", column="reason", row_id=transfer_id
        )
        if reason
        else None,
        reason_category=stored_category(TextField.CASE_TRANSFER_REASON, reason_category)
        if reason
        else None,
        idempotency_key=key,
        request_fingerprint=digest,
        created_at=now,
        updated_at=now,
    )
    session.add(transfer)
    await session.flush()
    session.add(
        CaseParty(
            case_id=case.id,
            organization_id=to_organization_id,
            purpose=purpose.value,
            source_type=PARTY_SOURCE,
            source_id=transfer_id,
            valid_from=now,
        )
    )
    await emit(
        session,
        topic="CASE",
        type="CASE_TRANSFER_OFFERED",
        subject_id=case.id,
        actor_organization_id=actor.organization_id,
        audience=[transfer.from_organization_id, transfer.to_organization_id],
        payload=transfer_payload(transfer),
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action="case.transfer_offer",
        subject_type="CaseTransfer",
        subject_id=transfer_id,
        detail={"caseId": case.id, "to": to_organization_id, "origin": origin.value},
        request_id=actor.request_id,
    )
    return transfer


async def load_transfer(session: AsyncSession, actor: Principal, transfer_id: str) -> CaseTransfer:
    """The transfer if the actor offered it or is its addressee; NOT_FOUND otherwise."""
    transfer = await session.get(CaseTransfer, transfer_id)
    if transfer is None or not roles_of(transfer, actor.organization_id):
        raise not_found("case transfer")
    return transfer


def _stale() -> HubError:
    return HubError(ErrorCode.CONFLICT, "the transfer was changed by someone else")


async def answer_transfer(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    transfer_id: str,
    action: TransferAction,
    *,
    reason: str | None = None,
    reason_category: DataCategory | None = None,
    expected_version: int | None = None,
) -> CaseTransfer:
    """Accept, decline or cancel an open offer, as the table allows the caller."""
    async with db.write() as session:
        transfer = await load_transfer(session, actor, transfer_id)
        if expected_version is not None and expected_version != transfer.version:
            raise _stale()
        roles = roles_of(transfer, actor.organization_id)
        allowed = [r for r in roles if CUSTODY_WORKFLOW.allows(transfer.status, action, r)]
        role = allowed[0] if allowed else sorted(roles)[0]
        step = CUSTODY_WORKFLOW.next_state(transfer.status, action.value, role, roles)
        why = check_reason_text(reason, step.needs_reason)
        case = await session.get(Case, transfer.case_id)
        assert case is not None
        now = utcnow()
        if action is TransferAction.ACCEPT:
            await _take_over(session, actor, transfer, case, now)
        result = await session.execute(
            update(CaseTransfer)
            .where(CaseTransfer.id == transfer.id, CaseTransfer.version == transfer.version)
            .values(
                status=step.target,
                version=transfer.version + 1,
                updated_at=now,
                answered_at=now,
                answered_by_organization_id=actor.organization_id,
                answer_sealed=(await case_cipher(session, cipher, case.id)).seal(
                    why, table="case_transfers", column="answer", row_id=transfer.id
                )
                if why
                else None,
                answer_category=stored_category(TextField.CASE_TRANSFER_ANSWER, reason_category)
                if why
                else None,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise _stale()
        # The addressee's standing as the one deciding ends with the answer.
        await session.execute(
            update(CaseParty)
            .where(
                CaseParty.source_type == PARTY_SOURCE,
                CaseParty.source_id == transfer.id,
                CaseParty.organization_id == transfer.to_organization_id,
                CaseParty.ended_at.is_(None),
            )
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(transfer)
        await emit(
            session,
            topic="CASE",
            type=f"CASE_TRANSFER_{step.target}",
            subject_id=transfer.case_id,
            actor_organization_id=actor.organization_id,
            audience=[transfer.from_organization_id, transfer.to_organization_id],
            payload=transfer_payload(transfer),
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action=f"case.transfer_{action.value.lower()}",
            subject_type="CaseTransfer",
            subject_id=transfer.id,
            detail={"caseId": transfer.case_id, "to": step.target},
            request_id=actor.request_id,
        )
    return transfer


async def _take_over(
    session: AsyncSession, actor: Principal, transfer: CaseTransfer, case: Case, now: datetime
) -> None:
    """The addressee owns the case; the former owner stays a party for the same purpose."""
    if case.owner_organization_id != transfer.from_organization_id:
        raise HubError(ErrorCode.CONFLICT, "the case changed hands since it was offered")
    addressee = await session.get(Organization, transfer.to_organization_id)
    assert addressee is not None
    await _require_consent(session, case.id, addressee, Purpose(transfer.purpose))
    result = await session.execute(
        update(Case)
        .where(Case.id == case.id, Case.version == case.version)
        .values(
            owner_organization_id=transfer.to_organization_id,
            version=case.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise HubError(ErrorCode.CONFLICT, "the case was changed by someone else")
    session.add(
        CaseParty(
            case_id=case.id,
            organization_id=transfer.from_organization_id,
            purpose=transfer.purpose,
            source_type=PARTY_SOURCE,
            source_id=transfer.id,
            valid_from=now,
        )
    )


class TransferBox:
    INBOX = "INBOX"  # offers addressed to me
    OUTBOX = "OUTBOX"  # offers I made


async def list_transfers(
    db: Database,
    actor: Principal,
    box: str,
    status: TransferStatus | None,
    first: int,
    after: str | None,
) -> tuple[list[CaseTransfer], bool]:
    check_page_size(first)
    if not actor.has(READ_SCOPE):
        return [], False
    org = actor.organization_id
    mine: ColumnElement[bool] = (
        CaseTransfer.to_organization_id == org
        if box == TransferBox.INBOX
        else CaseTransfer.from_organization_id == org
    )
    query = (
        select(CaseTransfer)
        .where(mine)
        .order_by(CaseTransfer.created_at.desc(), CaseTransfer.id.desc())
        .limit(first + 1)
    )
    if status is not None:
        query = query.where(CaseTransfer.status == status.value)
    if after:
        query = query.where(after_cursor(after, CaseTransfer.created_at, CaseTransfer.id))
    async with db.read() as session:
        rows = list(await session.scalars(query))
    return rows[:first], len(rows) > first


async def get_transfer(
    db: Database, actor: Principal, transfer_id: str, *, reading: bool = True
) -> CaseTransfer:
    if reading and not actor.has(READ_SCOPE):
        raise not_found("case transfer")
    async with db.read() as session:
        return await load_transfer(session, actor, transfer_id)


async def custody_history(db: Database, actor: Principal, case_id: str) -> list[CaseTransfer]:
    """Every transfer of a case the actor may see, oldest first: who held it, and when."""
    from cases.service import require_visible

    await require_visible(db, actor, case_id)
    async with db.read() as session:
        return list(
            await session.scalars(
                select(CaseTransfer)
                .where(CaseTransfer.case_id == case_id)
                .order_by(CaseTransfer.created_at, CaseTransfer.id)
            )
        )


async def offer_on_handover(
    session: AsyncSession,
    cipher: FieldCipher,
    actor: Principal,
    case: Case,
    repatriation_id: str,
    reception_id: str,
) -> CaseTransfer | None:
    """At the hand-over at home the case is offered to the reception organisation, which
    accepts it like any other offer. Nothing is offered when the reception organisation owns
    the case already, or while another offer is open (the owner answers that one first)."""
    if case.owner_organization_id == reception_id:
        return None
    if await open_offer(session, case.id) is not None:
        return None
    return await offer_in_session(
        session,
        cipher,
        actor,
        case,
        reception_id,
        origin=TransferOrigin.HANDOVER,
        purpose=Purpose.REPATRIATION,
        reason=None,
        reason_category=None,
        key=f"handover-{repatriation_id}",
        digest=fingerprint([repatriation_id]),
        repatriation_id=repatriation_id,
    )
