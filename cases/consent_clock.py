"""Consent also changes with time: a grant expires (``validUntil``) or comes into force
(``validFrom``) without anyone acting. The scheduler's pass re-applies ``follow_consent`` to
the cases where that can matter, so work is held when its consent lapses and resumed when a
future-dated consent begins, exactly as when a consent is withdrawn or recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from cases.consent_holds import ConsentActor, follow_consent
from cases.models import Referral, RepatriationRequest
from cases.referral_rules import OPEN
from cases.repatriation_rules import ACTIVE
from consent.models import ConsentGrant
from store.engine import Database

_HUB = ConsentActor(organization_id=None, client_id="scheduler", request_id=None)
_BATCH = 500


async def cases_to_review(db: Database, now: datetime) -> list[str]:
    """Cases with work held for consent, or with open work and a grant that has lapsed."""
    lapsed = select(ConsentGrant.case_id).where(ConsentGrant.valid_until <= now)
    open_referrals = select(Referral.case_id).where(
        or_(
            Referral.held_for_consent.is_(True),
            Referral.status.in_([s.value for s in OPEN]) & Referral.case_id.in_(lapsed),
        )
    )
    open_requests = select(RepatriationRequest.case_id).where(
        or_(
            RepatriationRequest.held_for_consent.is_(True),
            RepatriationRequest.status.in_([s.value for s in ACTIVE])
            & RepatriationRequest.case_id.in_(lapsed),
        )
    )
    async with db.read() as session:
        found = set(await session.scalars(open_referrals.limit(_BATCH)))
        found |= set(await session.scalars(open_requests.limit(_BATCH)))
    return sorted(found)


async def follow_consent_clock(db: Database, now: datetime) -> int:
    """One pass; each case in its own transaction. Returns how many cases were reviewed."""
    cases = await cases_to_review(db, now)
    for case_id in cases:
        async with db.write() as session:
            await follow_consent(session, case_id, _HUB, now)
    return len(cases)
