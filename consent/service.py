"""Consent operations: record a grant, withdraw it, and make sure holders hear of it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.case_keys import case_cipher, case_ciphers, case_erased
from cases.consent_holds import ConsentActor, follow_consent
from cases.models import CaseParty
from cases.rules import AgeBand
from cases.service import case_audience, load_owned_case, load_visible_case
from consent.family import (
    FamilyBasis,
    own_consent_recorded,
    seal_basis,
    supersede_family_grants,
)
from consent.models import ConsentGrant, ConsentWithdrawal, Disclosure, WithdrawalNotice
from consent.rules import (
    OWN_GRANTORS,
    ConsentMethod,
    DataCategory,
    Grantor,
    Purpose,
    family_consent_refusal,
)
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind, check_reason
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

_CHILD_BANDS = frozenset({AgeBand.AGE_0_8.value, AgeBand.AGE_9_17.value})


@dataclass(frozen=True, slots=True)
class NewConsent:
    case_id: str
    grantor: Grantor
    method: ConsentMethod
    purposes: Sequence[Purpose]
    categories: Sequence[DataCategory]
    recipient_organization_ids: Sequence[str] = ()
    recipient_kinds: Sequence[OrganizationKind] = ()
    interpreter_language: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    # Grantor FAMILY only: who reported, how related, why the person cannot consent now.
    family_basis: FamilyBasis | None = None


def _bad(message: str) -> HubError:
    return HubError(ErrorCode.BAD_USER_INPUT, message)


async def _check_recipients(session: AsyncSession, ids: Sequence[str]) -> list[str]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = await session.execute(
        select(Organization.id, Organization.status).where(Organization.id.in_(wanted))
    )
    active = {oid for oid, status in rows if status == MembershipStatus.ACTIVE}
    missing = [oid for oid in wanted if oid not in active]
    if missing:
        raise _bad(f"recipients must be active members: {', '.join(missing)}")
    return wanted


async def record_consent(
    db: Database, actor: Principal, new: NewConsent, cipher: FieldCipher
) -> ConsentGrant:
    """Record a new, immutable version of the survivor's consent on the actor's own case.

    A FAMILY grant keeps its basis sealed; the person's own grant ends every FAMILY grant
    of the case in the same transaction."""
    if not new.purposes:
        raise _bad("at least one purpose is required")
    if not new.categories:
        raise _bad("at least one data category is required")
    if not new.recipient_organization_ids and not new.recipient_kinds:
        raise _bad("name at least one recipient organisation or organisation kind")
    now = utcnow()
    valid_from = new.valid_from or now
    if new.valid_until is not None and new.valid_until <= valid_from:
        raise _bad("validUntil must be after validFrom")
    if new.interpreter_language is not None and not 2 <= len(new.interpreter_language) <= 3:
        raise _bad("interpreterLanguage must be an ISO 639 code")
    async with db.write() as session:
        case = await load_owned_case(session, actor, new.case_id)
        refusal = family_consent_refusal(
            new.grantor,
            new.family_basis is not None,
            new.grantor is Grantor.FAMILY and await own_consent_recorded(session, case.id),
        )
        if refusal is not None:
            raise _bad(refusal)
        if case.age_band in _CHILD_BANDS and new.grantor == Grantor.SURVIVOR:
            raise _bad("for a child, consent is given by a guardian (grantor GUARDIAN)")
        recipients = await _check_recipients(session, new.recipient_organization_ids)
        latest = await session.scalar(
            select(func.max(ConsentGrant.version)).where(ConsentGrant.case_id == case.id)
        )
        grant = ConsentGrant(
            id=str(uuid.uuid4()),
            case_id=case.id,
            version=(latest or 0) + 1,
            grantor=new.grantor.value,
            method=new.method.value,
            interpreter_language=new.interpreter_language,
            purposes=sorted({p.value for p in new.purposes}),
            categories=sorted({c.value for c in new.categories}),
            recipient_organization_ids=recipients,
            recipient_kinds=sorted({k.value for k in new.recipient_kinds}),
            valid_from=valid_from,
            valid_until=new.valid_until,
            recorded_by_organization_id=case.owner_organization_id,
            recorded_at=now,
        )
        session.add(grant)
        await session.flush()
        superseded: list[str] = []
        told: list[str] = []
        if new.family_basis is not None:
            session.add(
                seal_basis(await case_cipher(session, cipher, case.id), grant.id, new.family_basis)
            )
        elif new.grantor in OWN_GRANTORS:
            superseded, told = await supersede_family_grants(
                session, cipher, case.id, case.owner_organization_id, now
            )
        # A named recipient becomes party to the case for each purpose consented to.
        for org_id in recipients:
            for purpose in grant.purposes:
                session.add(
                    CaseParty(
                        case_id=case.id,
                        organization_id=org_id,
                        purpose=purpose,
                        source_type="CONSENT",
                        source_id=grant.id,
                        valid_from=grant.valid_from,
                        valid_until=grant.valid_until,
                    )
                )
        await session.flush()
        await emit(
            session,
            topic="CONSENT",
            type="CONSENT_RECORDED",
            subject_id=grant.id,
            actor_organization_id=case.owner_organization_id,
            audience=[case.owner_organization_id, *recipients],
            payload={"consentId": grant.id, "caseId": case.id, "version": grant.version},
        )
        for ended in superseded:
            await emit(
                session,
                topic="CONSENT",
                type="CONSENT_SUPERSEDED",
                subject_id=ended,
                actor_organization_id=case.owner_organization_id,
                audience=[case.owner_organization_id, *told, *await case_audience(session, case)],
                payload={"consentId": ended, "caseId": case.id, "supersededBy": grant.id},
            )
        await follow_consent(session, case.id, _consent_actor(actor), now)
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="consent.record",
            subject_type="ConsentGrant",
            subject_id=grant.id,
            detail={"caseId": case.id, "version": grant.version, "superseded": superseded},
            request_id=actor.request_id,
        )
    return grant


async def _load_grant(session: AsyncSession, actor: Principal, consent_id: str) -> ConsentGrant:
    grant = await session.get(ConsentGrant, consent_id)
    if grant is None:
        raise not_found("consent")
    # Only someone who may see the case learns that the grant exists.
    await load_visible_case(session, actor, grant.case_id)
    return grant


async def withdraw_consent(
    db: Database, actor: Principal, cipher: FieldCipher, consent_id: str, reason: str
) -> ConsentGrant:
    """End a grant now. Every organisation that received data under it is told, and every
    open referral or repatriation request the remaining consent does not cover is held."""
    why = check_reason(reason)
    async with db.write() as session:
        grant = await _load_grant(session, actor, consent_id)
        case = await load_owned_case(session, actor, grant.case_id)
        if await session.get(ConsentWithdrawal, grant.id) is not None:
            raise HubError(ErrorCode.INVALID_TRANSITION, "this consent is already withdrawn")
        now = utcnow()
        place = {"table": "consent_withdrawals", "column": "reason", "row_id": grant.id}
        # Withdrawing stays possible after her erasure; the reason is then not kept (an
        # empty text, as her erasure leaves the others): nothing new is said about her.
        erased = await case_erased(session, cipher, grant.case_id)
        reason_sealed = (
            cipher.seal("", **place)
            if erased
            else (await case_cipher(session, cipher, grant.case_id)).seal(why, **place)
        )
        session.add(
            ConsentWithdrawal(
                grant_id=grant.id,
                at=now,
                reason_sealed=reason_sealed,
                by_organization_id=case.owner_organization_id,
            )
        )
        await session.execute(
            update(CaseParty)
            .where(CaseParty.source_type == "CONSENT", CaseParty.source_id == grant.id)
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        holders = sorted(
            set(
                await session.scalars(
                    select(Disclosure.organization_id).where(
                        Disclosure.consent_grant_id == grant.id
                    )
                )
            )
        )
        for org_id in holders:
            session.add(
                WithdrawalNotice(grant_id=grant.id, organization_id=org_id, notified_at=now)
            )
        await session.flush()
        await emit(
            session,
            topic="CONSENT",
            type="CONSENT_WITHDRAWN",
            subject_id=grant.id,
            actor_organization_id=case.owner_organization_id,
            audience=[case.owner_organization_id, *holders, *await case_audience(session, case)],
            payload={"consentId": grant.id, "caseId": case.id, "version": grant.version},
        )
        await follow_consent(session, case.id, _consent_actor(actor), now)
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="consent.withdraw",
            subject_type="ConsentGrant",
            subject_id=grant.id,
            # The reason stays in consent_withdrawals: it is free text about the survivor.
            detail={"caseId": case.id, "holdersNotified": holders},
            request_id=actor.request_id,
        )
    return grant


async def acknowledge_withdrawal(
    db: Database, actor: Principal, consent_id: str
) -> WithdrawalNotice:
    """A holder confirms it has acted on a withdrawal. Repeating it changes nothing."""
    if actor.organization_id is None:
        raise not_found("withdrawal notice")
    async with db.write() as session:
        notice = await session.get(WithdrawalNotice, (consent_id, actor.organization_id))
        if notice is None:
            raise not_found("withdrawal notice")
        if notice.acknowledged_at is not None:
            return notice
        notice.acknowledged_at = utcnow()
        grant = await session.get(ConsentGrant, consent_id)
        assert grant is not None
        owner = grant.recorded_by_organization_id
        await emit(
            session,
            topic="CONSENT",
            type="CONSENT_WITHDRAWAL_ACKNOWLEDGED",
            subject_id=consent_id,
            actor_organization_id=actor.organization_id,
            audience=[owner, actor.organization_id],
            payload={"consentId": consent_id, "caseId": grant.case_id},
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="consent.acknowledge_withdrawal",
            subject_type="ConsentGrant",
            subject_id=consent_id,
            detail={"caseId": grant.case_id},
            request_id=actor.request_id,
        )
    return notice


@dataclass(frozen=True, slots=True)
class WithdrawalRecord:
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class GrantRecord:
    grant: ConsentGrant
    withdrawal: WithdrawalRecord | None
    notices: list[WithdrawalNotice]


def _consent_actor(actor: Principal) -> ConsentActor:
    return ConsentActor(actor.organization_id or "", actor.client_id, actor.request_id)


async def consents_of_case(
    db: Database, actor: Principal, cipher: FieldCipher, case_id: str
) -> list[GrantRecord]:
    """Every grant of a case, with withdrawal (its reason opened) and notices: for the owner
    only, who reads the survivor's own words about why she withdrew."""
    async with db.read() as session:
        await load_owned_case(session, actor, case_id)
        grants = list(
            await session.scalars(
                select(ConsentGrant)
                .where(ConsentGrant.case_id == case_id)
                .order_by(ConsentGrant.version)
            )
        )
        ids = [g.id for g in grants]
        withdrawals = {
            w.grant_id: w
            for w in await session.scalars(
                select(ConsentWithdrawal).where(ConsentWithdrawal.grant_id.in_(ids))
            )
        }
        notices: dict[str, list[WithdrawalNotice]] = {gid: [] for gid in ids}
        for n in await session.scalars(
            select(WithdrawalNotice)
            .where(WithdrawalNotice.grant_id.in_(ids))
            .order_by(WithdrawalNotice.organization_id)
        ):
            notices[n.grant_id].append(n)
        opener = (await case_ciphers(session, cipher, [case_id]))[case_id]
    opened = {
        gid: WithdrawalRecord(
            w.at,
            opener.open(w.reason_sealed, table="consent_withdrawals", column="reason", row_id=gid),
        )
        for gid, w in withdrawals.items()
    }
    return [GrantRecord(g, opened.get(g.id), notices[g.id]) for g in grants]


async def notices_for(
    db: Database, actor: Principal, pending_only: bool
) -> list[tuple[WithdrawalNotice, ConsentGrant]]:
    """Withdrawal notices addressed to the actor's organisation."""
    query = (
        select(WithdrawalNotice, ConsentGrant)
        .join(ConsentGrant, ConsentGrant.id == WithdrawalNotice.grant_id)
        .where(WithdrawalNotice.organization_id == actor.organization_id)
        .order_by(WithdrawalNotice.notified_at.desc())
    )
    if pending_only:
        query = query.where(WithdrawalNotice.acknowledged_at.is_(None))
    async with db.read() as session:
        return [(n, g) for n, g in await session.execute(query)]


async def disclosures_of_case(db: Database, actor: Principal, case_id: str) -> list[Disclosure]:
    """Who has seen what of a case: for the owner, to show the survivor."""
    async with db.read() as session:
        await load_owned_case(session, actor, case_id)
        return list(
            await session.scalars(
                select(Disclosure).where(Disclosure.case_id == case_id).order_by(Disclosure.id)
            )
        )


async def grant_case(db: Database, consent_id: str) -> str:
    """The case a grant belongs to (callers have already been authorised for the grant)."""
    async with db.read() as session:
        case_id = await session.scalar(
            select(ConsentGrant.case_id).where(ConsentGrant.id == consent_id)
        )
    if case_id is None:
        raise not_found("consent")
    return str(case_id)
