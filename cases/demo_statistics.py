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

from cases.models import Case
from cases.rules import AgeBand, ExploitationType, Sex
from cases.service import NewCase, create_case
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from consent.service import NewConsent, record_consent
from orgs.demo import DemoMember
from orgs.principal import Principal
from orgs.rules import OrganizationKind
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
    opened: list[tuple[str, int]] = []
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
                # The coordinator counts; the national database (government) receives HTCDS.
                recipient_kinds=[OrganizationKind.COORDINATOR, OrganizationKind.GOVERNMENT],
            ),
            cipher,
        )
        opened.append((view.case.id, rng.randrange(0, 6)))
    # History: each case opened in one of the last six months.
    async with db.write() as session:
        for case_id, months_ago in opened:
            await session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(created_at=now - timedelta(days=30 * months_ago))
            )
    return [case_id for case_id, _ in opened]
