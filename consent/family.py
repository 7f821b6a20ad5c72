"""Consent given by a family member for a person still abroad, and its end.

A member hears from a relative that someone is held abroad; until she can be reached, the
relative's consent (grantor FAMILY, with its basis sealed) lets the embassy act. Once her
own consent is recorded, every FAMILY grant of the case ends at that moment, the way a
withdrawal ends a grant: its parties end, holders are told, and what the new consent does
not cover is held (``follow_consent`` runs after this in the same transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.case_keys import case_cipher, case_ciphers
from cases.models import Case, CaseParty
from consent.family_models import FamilyConsentBasis
from consent.models import ConsentGrant, ConsentWithdrawal, Disclosure, WithdrawalNotice
from consent.rules import OWN_GRANTORS, Grantor
from orgs.principal import Principal
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher, Sealing

MAX_BASIS_TEXT = 500
SUPERSEDED = "superseded by the person's own consent"


class FamilyRelationship(StrEnum):
    PARENT = "PARENT"
    SPOUSE = "SPOUSE"
    SIBLING = "SIBLING"
    CHILD = "CHILD"
    OTHER_RELATIVE = "OTHER_RELATIVE"


@dataclass(frozen=True, slots=True)
class FamilyBasis:
    """Who reported, how they are related, why the person cannot consent now."""

    reported_by: str
    relationship: FamilyRelationship
    why_not_self: str


def _text(name: str, value: str) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > MAX_BASIS_TEXT:
        # Name the field, never the value: it is about the person and her family.
        raise HubError(ErrorCode.BAD_USER_INPUT, f"familyBasis.{name}: 1 to {MAX_BASIS_TEXT} chars")
    return cleaned


def seal_basis(cipher: Sealing, grant_id: str, basis: FamilyBasis) -> FamilyConsentBasis:
    body = {
        "reportedBy": _text("reportedBy", basis.reported_by),
        "relationship": basis.relationship.value,
        "whyNotSelf": _text("whyNotSelf", basis.why_not_self),
    }
    return FamilyConsentBasis(
        grant_id=grant_id,
        basis_sealed=cipher.seal(
            orjson.dumps(body).decode(),
            table="family_consent_bases",
            column="basis",
            row_id=grant_id,
        ),
    )


def open_basis(cipher: Sealing, row: FamilyConsentBasis) -> FamilyBasis:
    body = orjson.loads(
        cipher.open(
            row.basis_sealed, table="family_consent_bases", column="basis", row_id=row.grant_id
        )
    )
    return FamilyBasis(
        reported_by=body["reportedBy"],
        relationship=FamilyRelationship(body["relationship"]),
        why_not_self=body["whyNotSelf"],
    )


async def _standing(session: AsyncSession, case_id: str, grantors: set[str]) -> list[ConsentGrant]:
    """The case's grants from ``grantors`` that are not withdrawn."""
    return list(
        await session.scalars(
            select(ConsentGrant)
            .outerjoin(ConsentWithdrawal, ConsentWithdrawal.grant_id == ConsentGrant.id)
            .where(
                ConsentGrant.case_id == case_id,
                ConsentGrant.grantor.in_(sorted(grantors)),
                ConsentWithdrawal.grant_id.is_(None),
            )
        )
    )


async def own_consent_recorded(session: AsyncSession, case_id: str) -> bool:
    """Whether she (or her guardian) has ever consented, withdrawn since or not: once she is
    reached, a relative never speaks for her again, least of all after she said no."""
    found = await session.scalar(
        select(ConsentGrant.id)
        .where(
            ConsentGrant.case_id == case_id,
            ConsentGrant.grantor.in_(sorted(g.value for g in OWN_GRANTORS)),
        )
        .limit(1)
    )
    return found is not None


async def supersede_family_grants(
    session: AsyncSession, cipher: FieldCipher, case_id: str, by_organization_id: str, now: datetime
) -> tuple[list[str], list[str]]:
    """End every FAMILY grant of the case now. Returns (grant ids, organisations told)."""
    ended = await _standing(session, case_id, {Grantor.FAMILY.value})
    told: set[str] = set()
    for grant in ended:
        session.add(
            ConsentWithdrawal(
                grant_id=grant.id,
                at=now,
                reason_sealed=(await case_cipher(session, cipher, case_id)).seal(
                    SUPERSEDED, table="consent_withdrawals", column="reason", row_id=grant.id
                ),
                by_organization_id=by_organization_id,
            )
        )
        await session.execute(
            update(CaseParty)
            .where(CaseParty.source_type == "CONSENT", CaseParty.source_id == grant.id)
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        holders = set(
            await session.scalars(
                select(Disclosure.organization_id).where(Disclosure.consent_grant_id == grant.id)
            )
        )
        for org_id in sorted(holders):
            session.add(
                WithdrawalNotice(grant_id=grant.id, organization_id=org_id, notified_at=now)
            )
        told |= holders
    await session.flush()
    return [g.id for g in ended], sorted(told)


async def basis_for_owner(
    db: Database, actor: Principal, cipher: FieldCipher, consent_id: str
) -> FamilyBasis:
    """The basis of a FAMILY grant, for the organisation that owns the case (with
    ``cases:read`` and ``pii:read``, as for her name): to anyone else it does not exist."""
    if not (actor.has("cases:read") and actor.has("pii:read")):
        raise not_found("family consent basis")
    async with db.read() as session:
        row = await session.get(FamilyConsentBasis, consent_id)
        grant = await session.get(ConsentGrant, consent_id) if row is not None else None
        owner = (
            await session.scalar(select(Case.owner_organization_id).where(Case.id == grant.case_id))
            if grant is not None
            else None
        )
        opener = (
            (await case_ciphers(session, cipher, [grant.case_id]))[grant.case_id] if grant else None
        )
    if row is None or opener is None or owner is None or owner != actor.organization_id:
        raise not_found("family consent basis")
    return open_basis(opener, row)
