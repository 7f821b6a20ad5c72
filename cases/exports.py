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

import orjson
from sqlalchemy import select

from cases.access import load_grants
from cases.case_keys import keys_and_erasures
from cases.htcds import HTCDS_COLUMNS, ExportedCase, htcds_row, pseudonym
from cases.models import Case, CaseField
from consent.disclosure import Channel, DisclosureRecord
from consent.disclosure import record as record_disclosures
from consent.rules import DataCategory, Purpose, Recipient, decide
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
