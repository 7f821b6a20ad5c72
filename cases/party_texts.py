"""Releasing sealed parts of a case record (an assessment) to whoever may see the case.

Unlike a referral's texts, which serve the one purpose of their referral, an assessment
belongs to the case: a party reads a part when the survivor's consent allows its category
for any purpose the party's relations to the case serve, now. The owner reads every part.
Withheld parts are never decrypted; each release to another organisation is a disclosure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import NO_RELATION, Withheld, load_grants, party_purposes
from cases.case_keys import case_ciphers
from cases.models import Case
from cases.text_access import SealedText, TextView, release
from consent.disclosure import DisclosureRecord
from consent.rules import DenyReason, Purpose
from orgs.principal import Principal
from store.sealed import FieldCipher


def _strongest(reasons: list[str]) -> str:
    order = [r.value for r in DenyReason]
    known = [r for r in reasons if r in order]
    if known:
        return max(known, key=order.index)
    return reasons[0] if reasons else NO_RELATION


async def open_case_parts(
    session: AsyncSession,
    viewer: Principal,
    cipher: FieldCipher,
    case: Case,
    texts: Sequence[SealedText],
    at: datetime,
    read_scope: str,
    channel: str,
) -> TextView:
    """The parts ``viewer`` may read of one case's record, with their disclosures."""
    org = viewer.organization_id or ""
    is_owner = case.owner_organization_id == org
    grants = [] if is_owner else (await load_grants(session, [case.id])).get(case.id, [])
    purposes = (
        set() if is_owner else (await party_purposes(session, [case.id], org, at)).get(case.id)
    )
    view = TextView()
    opener = (await case_ciphers(session, cipher, [case.id]))[case.id]
    by_grant: dict[tuple[str, int], set[str]] = defaultdict(set)
    for text in texts:
        # The owner's verdict depends on scopes only; any purpose stands in for "none".
        asked = [Purpose.SERVICE_REFERRAL] if is_owner else sorted(purposes or ())
        verdicts = [
            release(viewer, read_scope, is_owner, grants, p, text.category, at) for p in asked
        ]
        granted = [v for v in verdicts if not isinstance(v, str)]
        if not granted:
            reasons = [v for v in verdicts if isinstance(v, str)]
            view.withheld.append(Withheld(text.field.label, text.category, _strongest(reasons)))
            continue
        view.values[text.slot] = opener.open(
            text.sealed or "", table=text.table, column=text.column, row_id=text.row_id
        )
        decision = granted[0]
        if decision is not None and decision.grant_id is not None:
            by_grant[(decision.grant_id, decision.grant_version or 0)].add(text.category.value)
    view.disclosures = [
        DisclosureRecord(
            organization_id=org,
            case_id=case.id,
            categories=tuple(sorted(categories)),
            consent_grant_id=grant_id,
            consent_version=version,
            channel=channel,
            request_id=viewer.request_id,
        )
        for (grant_id, version), categories in sorted(by_grant.items())
    ]
    return view
