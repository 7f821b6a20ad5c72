"""Standard exports of individual (pseudonymised) cases, each one a disclosure in the log.

HTCDS for the national database: a case is exported to the requesting organisation only
when the survivor's consent, in force now, names that organisation (or its kind) for the
STATISTICS purpose and the TRAFFICKING_EXPERIENCE category: the national database is a
statistical use, and the export's only sealed values are her trafficking experience.
Gender, age band and citizenship are the case's plain columns. Erased cases never leave.

Every exported case is one disclosure entry (channel EXPORT) citing the consent version that
allowed it, written in one transaction after the read, before the export is returned.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants, to_grant, visible_to
from cases.case_keys import keys_and_erasures
from cases.fhir_export import (
    ConsentFacts,
    ReferralFacts,
    bundle,
    consent_resource,
    referral_resources,
)
from cases.htcds import HTCDS_COLUMNS, ExportedCase, htcds_row, pseudonym
from cases.models import Case, CaseField, Referral
from consent.disclosure import Channel, DisclosureRecord
from consent.disclosure import record as record_disclosures
from consent.models import ConsentGrant, ConsentWithdrawal
from consent.rules import DataCategory, Purpose, Recipient, decide
from orgs.models import Organization
from orgs.principal import Principal
from store.case_keys import open_sealed
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher
from store.types import utcnow

SCOPE = "exports:read"
HTCDS_PURPOSE = Purpose.STATISTICS
HTCDS_CATEGORY = DataCategory.TRAFFICKING_EXPERIENCE
_HTCDS_FIELDS = ["destinationCountry", "exploitationTypes", "recruiterRelationship"]


def require_export_scope(actor: Principal) -> str:
    if not actor.has(SCOPE) or actor.organization_id is None:
        raise HubError(ErrorCode.FORBIDDEN, f"exports need the '{SCOPE}' scope")
    return actor.organization_id


async def htcds_export(
    db: Database, cipher: FieldCipher, actor: Principal, pseudonym_key: bytes
) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """The HTCDS columns and one row per case the caller may receive, in pseudonym order."""
    org = require_export_scope(actor)
    recipient = Recipient(org, actor.organization_kind or "")
    at: datetime = utcnow()
    rows: list[dict[str, str]] = []
    disclosures: list[DisclosureRecord] = []
    async with db.read() as session:
        columns = (Case.id, Case.created_at, Case.sex, Case.age_band, Case.nationality)
        cases = (await session.execute(select(*columns))).all()
        ids = [c.id for c in cases]
        grants = await load_grants(session, ids) if ids else {}
        decisions = {
            c.id: decide(grants.get(c.id, []), recipient, HTCDS_PURPOSE, HTCDS_CATEGORY, at)
            for c in cases
        }
        allowed_ids = [i for i in ids if decisions[i].allowed]
        keys, erased = await keys_and_erasures(session, cipher, allowed_ids, with_keys=True)
        allowed_ids = [i for i in allowed_ids if i not in erased]
        opened: dict[str, dict[str, object]] = defaultdict(dict)
        if allowed_ids:
            found = await session.execute(
                select(CaseField.case_id, CaseField.field, CaseField.sealed).where(
                    CaseField.case_id.in_(allowed_ids), CaseField.field.in_(_HTCDS_FIELDS)
                )
            )
            for case_id, name, value in found:
                plain = open_sealed(
                    cipher,
                    keys.get(case_id),
                    value,
                    table="case_fields",
                    column=name,
                    row_id=case_id,
                )
                opened[case_id][name] = orjson.loads(plain)
    wanted = set(allowed_ids)
    for c in cases:
        if c.id not in wanted:
            continue
        exported = ExportedCase(c.id, c.created_at, c.sex, c.age_band, c.nationality, opened[c.id])
        rows.append(htcds_row(exported, pseudonym(pseudonym_key, org, c.id)))
        decision = decisions[c.id]
        disclosures.append(
            DisclosureRecord(
                organization_id=org,
                case_id=c.id,
                categories=(HTCDS_CATEGORY.value,),
                consent_grant_id=decision.grant_id or "",
                consent_version=decision.grant_version or 0,
                channel=Channel.EXPORT,
                request_id=actor.request_id,
            )
        )
    opened.clear()
    await record_disclosures(db, disclosures)
    rows.sort(key=lambda r: r["caseId"])
    return HTCDS_COLUMNS, rows


async def _receiver_kind(session: AsyncSession, organization_id: str) -> str:
    kind = await session.scalar(select(Organization.kind).where(Organization.id == organization_id))
    return str(kind or "")


async def fhir_referral(
    db: Database, actor: Principal, referral_id: str, pseudonym_key: bytes
) -> dict[str, Any]:
    """A referral as a FHIR Bundle (ServiceRequest + Task), for its sender or receiver.

    It carries no survivor data (see cases/fhir_export.py), yet it says that this survivor
    was referred, so it is logged as a disclosure citing the consent the referral was sent
    under: the newest grant that covers the receiver for the referral's purpose (none, an
    empty id, when that consent has since ended)."""
    if not actor.has("referrals:read") or actor.organization_id is None:
        raise HubError(ErrorCode.FORBIDDEN, "this export needs the 'referrals:read' scope")
    org = actor.organization_id
    at = utcnow()
    async with db.read() as session:
        referral = await session.get(Referral, referral_id)
        if referral is None or org not in (
            referral.sender_organization_id,
            referral.receiver_organization_id,
        ):
            raise HubError(ErrorCode.NOT_FOUND, "referral not found")
        grants = (await load_grants(session, [referral.case_id])).get(referral.case_id, [])
        receiver = Recipient(
            referral.receiver_organization_id,
            await _receiver_kind(session, referral.receiver_organization_id),
        )
    cited = next(
        (
            d
            for c in DataCategory
            if (d := decide(grants, receiver, Purpose(referral.purpose), c, at)).allowed
        ),
        None,
    )
    facts = ReferralFacts(
        id=referral.id,
        status=referral.status,
        urgency=referral.urgency,
        services=list(referral.services),
        sender_organization_id=referral.sender_organization_id,
        receiver_organization_id=referral.receiver_organization_id,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
    )
    document = bundle(referral_resources(facts, pseudonym(pseudonym_key, org, referral.case_id)))
    await record_disclosures(
        db,
        [
            DisclosureRecord(
                organization_id=org,
                case_id=referral.case_id,
                categories=(),
                consent_grant_id=(cited.grant_id or "") if cited else "",
                consent_version=(cited.grant_version or 0) if cited else 0,
                channel=Channel.EXPORT,
                request_id=actor.request_id,
            )
        ],
    )
    return document


async def fhir_consents(
    db: Database, actor: Principal, case_id: str, pseudonym_key: bytes
) -> dict[str, Any]:
    """The case's consent as FHIR Consent resources: every version for the owner; for any
    other organisation that may see the case, only the versions that name it. Each version
    exported is a disclosure citing itself."""
    if not actor.has("cases:read") or actor.organization_id is None:
        raise HubError(ErrorCode.FORBIDDEN, "this export needs the 'cases:read' scope")
    org = actor.organization_id
    at = utcnow()
    recipient = Recipient(org, actor.organization_kind or "")
    async with db.read() as session:
        case = await session.scalar(select(Case).where(Case.id == case_id, visible_to(org, at)))
        if case is None:
            raise HubError(ErrorCode.NOT_FOUND, "case not found")
        rows = (
            await session.execute(
                select(ConsentGrant, ConsentWithdrawal.at)
                .outerjoin(ConsentWithdrawal, ConsentWithdrawal.grant_id == ConsentGrant.id)
                .where(ConsentGrant.case_id == case_id)
                .order_by(ConsentGrant.version)
            )
        ).all()
    owner = case.owner_organization_id == org
    released = [
        (grant, withdrawn)
        for grant, withdrawn in rows
        if owner or to_grant(grant, withdrawn).names(recipient)
    ]
    alias = pseudonym(pseudonym_key, org, case_id)
    resources = [
        consent_resource(
            ConsentFacts(
                id=grant.id,
                version=grant.version,
                purposes=list(grant.purposes),
                categories=list(grant.categories),
                recipient_organization_ids=list(grant.recipient_organization_ids),
                recipient_kinds=list(grant.recipient_kinds),
                valid_from=grant.valid_from,
                valid_until=grant.valid_until,
                withdrawn_at=withdrawn,
                recorded_by_organization_id=grant.recorded_by_organization_id,
                recorded_at=grant.recorded_at,
            ),
            alias,
            at,
        )
        for grant, withdrawn in released
    ]
    document = bundle(resources)
    await record_disclosures(
        db,
        [
            DisclosureRecord(
                organization_id=org,
                case_id=case_id,
                categories=(),
                consent_grant_id=grant.id,
                consent_version=grant.version,
                channel=Channel.EXPORT,
                request_id=actor.request_id,
            )
            for grant, _ in released
        ],
    )
    return document
