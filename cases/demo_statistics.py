"""Demo history for statistics: enough fictional cases, over several months, that a table
shows real counts, some cells published and some suppressed.

Every value is made up and drawn from a fixed seed, so the demo looks the same each time.
Most cases consent to STATISTICS for the coordinator; some do not, and are never counted.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import update

from cases.models import Case, Referral, ReferralChange
from cases.referral_rules import ReferralAction, Urgency
from cases.referrals import transition_referral
from cases.rules import AgeBand, ExploitationType, Sex
from cases.sending import NewReferral, send_referral
from cases.service import NewCase, create_case
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from consent.service import NewConsent, record_consent
from orgs.demo import DemoMember
from orgs.principal import Principal
from orgs.rules import OrganizationKind, ServiceCategory
from store.engine import Database
from store.sealed import FieldCipher
from store.types import utcnow

T = TypeVar("T")

DEMO_CASES = 48
# (province, weight): two large sending provinces, a middle one, and rare ones that stay
# pooled under OTHER.
_PROVINCES = [
    ("Koh Kong", 9),
    ("Svay Rieng", 8),
    ("Banteay Meanchey", 5),
    ("Prey Veng", 2),
    ("Mondulkiri", 1),
]
_DESTINATIONS = [("TH", 10), ("MY", 5), ("CN", 2)]
_TYPES = [
    (ExploitationType.FORCED_LABOUR, 10),
    (ExploitationType.SEXUAL_EXPLOITATION, 5),
    (ExploitationType.FORCED_CRIMINALITY, 3),
    (ExploitationType.FORCED_MARRIAGE, 1),
]
_AGES = [
    (AgeBand.AGE_18_20, 4),
    (AgeBand.AGE_21_23, 5),
    (AgeBand.AGE_24_26, 3),
    (AgeBand.AGE_9_17, 2),
]


def _pick(rng: random.Random, weighted: list[tuple[T, int]]) -> T:
    values = [v for v, _ in weighted]
    weights = [w for _, w in weighted]
    return rng.choices(values, weights=weights)[0]


def _actor(member: DemoMember) -> Principal:
    return Principal(
        organization_id=member.organization_id,
        client_id=member.client_id,
        scopes=frozenset(member.scopes),
        organization_kind=member.kind.value,
    )


async def seed_demo_statistics(
    db: Database, cipher: FieldCipher, members: dict[str, DemoMember], cases: int = DEMO_CASES
) -> list[str]:
    """Open ``cases`` fictional cases at the two transit centres, most with STATISTICS
    consent for the coordinator, spread over the last six months. Returns their ids."""
    rng = random.Random(15)  # noqa: S311 - a fixed seed for fictional data, not secrets
    owners = [_actor(members["ccpcr-koh-kong"]), _actor(members["ccpcr-svay-rieng"])]
    now = utcnow()
    shelter = _actor(members["ccpcr-shelter"])
    opened: list[tuple[str, int]] = []
    referred: list[tuple[Principal, str]] = []
    for n in range(cases):
        owner = owners[n % 2]
        survivor = {
            "homeProvince": _pick(rng, _PROVINCES),
            "destinationCountry": _pick(rng, _DESTINATIONS),
            "exploitationTypes": [_pick(rng, _TYPES).value],
        }
        age_band = _pick(rng, _AGES)
        view = await create_case(
            db,
            owner,
            cipher,
            NewCase(
                age_band=age_band,
                sex=Sex.FEMALE if rng.random() < 0.75 else Sex.MALE,
                nationality="KH",
                survivor=survivor,
            ),
        )
        # About one in eight said no to statistics: their cases are never counted.
        purposes = [Purpose.SERVICE_REFERRAL]
        if rng.random() >= 0.125:
            purposes.append(Purpose.STATISTICS)
        await record_consent(
            db,
            owner,
            NewConsent(
                case_id=view.case.id,
                # A child's consent is her guardian's.
                grantor=Grantor.GUARDIAN if age_band is AgeBand.AGE_9_17 else Grantor.SURVIVOR,
                method=ConsentMethod.WRITTEN,
                purposes=purposes,
                categories=[DataCategory.LOCATION, DataCategory.TRAFFICKING_EXPERIENCE],
                # The coordinator counts; the national database (government) receives HTCDS;
                # the shelter may receive a referral.
                recipient_kinds=[OrganizationKind.COORDINATOR, OrganizationKind.GOVERNMENT],
                recipient_organization_ids=[shelter.organization_id or ""],
            ),
            cipher,
        )
        opened.append((view.case.id, rng.randrange(0, 6)))
        if n % 2 == 0:
            referred.append((owner, view.case.id))
    opened_at = dict(opened)
    timings = await _referrals(db, cipher, shelter, referred)
    # History: each case opened in one of the last six months, referred a day later.
    async with db.write() as session:
        for case_id, months_ago in opened:
            await session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(created_at=now - timedelta(days=30 * months_ago + 12))
            )
        for referral_id, case_id, waited in timings:
            sent = now - timedelta(days=30 * opened_at[case_id] + 11)
            await session.execute(
                update(Referral).where(Referral.id == referral_id).values(created_at=sent)
            )
            await session.execute(
                update(ReferralChange)
                .where(ReferralChange.referral_id == referral_id, ReferralChange.action == "SEND")
                .values(at=sent)
            )
            if waited is not None:
                await session.execute(
                    update(ReferralChange)
                    .where(ReferralChange.referral_id == referral_id)
                    .where(ReferralChange.action == "ACKNOWLEDGE")
                    .values(at=sent + waited)
                )
                # The answer half a day after the acknowledgement: all in the past.
                await session.execute(
                    update(ReferralChange)
                    .where(ReferralChange.referral_id == referral_id)
                    .where(ReferralChange.action.in_(["ACCEPT", "DECLINE"]))
                    .values(at=sent + waited + timedelta(hours=12))
                )
    return [case_id for case_id, _ in opened]


async def _referrals(
    db: Database, cipher: FieldCipher, shelter: Principal, referred: list[tuple[Principal, str]]
) -> list[tuple[str, str, timedelta | None]]:
    """Refer half the cases to the shelter, which answers most of them, some slowly.
    Returns (referral, case, how long the shelter took) to date the history with."""
    rng = random.Random(16)  # noqa: S311 - a fixed seed for fictional data, not secrets
    timings: list[tuple[str, str, timedelta | None]] = []
    for n, (owner, case_id) in enumerate(referred):
        referral = await send_referral(
            db,
            owner,
            cipher,
            NewReferral(
                case_id=case_id,
                receiver_organization_id=shelter.organization_id or "",
                services=[ServiceCategory.SHELTER],
                urgency=Urgency.URGENT if n % 3 == 0 else Urgency.ROUTINE,
                reason="Demo referral (fictional).",
                idempotency_key=f"demo-statistics-{n}",
            ),
        )
        waited: timedelta | None = None
        if rng.random() < 0.85:
            waited = timedelta(hours=rng.choice([3, 10, 20, 40, 60, 100, 200]))
            await transition_referral(db, shelter, cipher, referral.id, ReferralAction.ACKNOWLEDGE)
            action = ReferralAction.ACCEPT if rng.random() < 0.7 else ReferralAction.DECLINE
            await transition_referral(
                db,
                shelter,
                cipher,
                referral.id,
                action,
                reason="Demo: no bed free (fictional)."
                if action is ReferralAction.DECLINE
                else None,
            )
        timings.append((referral.id, case_id, waited))
    return timings
