"""Statistics safe to publish: read consented cases, aggregate in memory, suppress.

Only cases whose consent, in force now, lets the requesting organisation use them for the
STATISTICS purpose are counted; a dimension read from sealed storage (province:
LOCATION; exploitation type and destination: TRAFFICKING_EXPERIENCE) also needs that
category under STATISTICS. Sealed values are opened here, turned into labels, and dropped:
no row ever leaves this function, only suppressed counts. Erased cases are not counted.

A published table discloses no single survivor's data, so it is not a disclosure in the
log (exports of individual records are: see cases/exports.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants
from cases.case_keys import keys_and_erasures
from cases.models import (
    Case,
    CaseField,
    Referral,
    ReferralChange,
    RepatriationChange,
    RepatriationRequest,
)
from cases.statistics_tables import (
    CATEGORY,
    Dimension,
    Item,
    Measure,
    Table,
    check_dimensions,
    country_label,
    exploitation_labels,
    month_of,
    province_label,
    tabulate,
    time_band,
)
from consent.rules import DataCategory, Grant, Purpose, Recipient, covers, decide
from orgs.principal import Principal
from store.case_keys import open_sealed
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher
from store.types import utcnow

SCOPE = "statistics:read"

# The sealed field behind each sealed dimension.
_SEALED_FIELD = {
    Dimension.PROVINCE: "homeProvince",
    Dimension.EXPLOITATION_TYPE: "exploitationTypes",
    Dimension.DESTINATION_COUNTRY: "destinationCountry",
}


def consented(
    grants: Sequence[Grant], recipient: Recipient, needed: frozenset[DataCategory], at: datetime
) -> bool:
    """May this case be counted for ``recipient``: STATISTICS consent in force now, for
    every sealed category the table reads (any category when it reads none)."""
    if not needed:
        return covers(grants, recipient, Purpose.STATISTICS, at)
    return all(decide(grants, recipient, Purpose.STATISTICS, c, at).allowed for c in needed)


async def statistics_table(
    db: Database,
    cipher: FieldCipher,
    actor: Principal,
    measure: Measure,
    rows: Dimension,
    columns: Dimension | None,
    k: int,
) -> Table:
    """One suppressed table of ``measure`` by ``rows`` (and ``columns``)."""
    if not actor.has(SCOPE) or actor.organization_id is None:
        raise HubError(ErrorCode.FORBIDDEN, f"statistics need the '{SCOPE}' scope")
    try:
        check_dimensions(measure, rows, columns)
    except ValueError as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, str(exc)) from None
    dims = [d for d in (rows, columns) if d is not None]
    at = utcnow()
    recipient = Recipient(actor.organization_id, actor.organization_kind or "")
    async with db.read() as session:
        items = await _items(session, cipher, recipient, measure, dims, at)
    return tabulate(items, measure, rows, columns, k)


async def _items(
    session: AsyncSession,
    cipher: FieldCipher,
    recipient: Recipient,
    measure: Measure,
    dims: list[Dimension],
    at: datetime,
) -> list[Item]:
    cases = (
        await session.execute(
            select(Case.id, Case.created_at, Case.sex, Case.age_band, Case.status)
        )
    ).all()
    ids = [c.id for c in cases]
    grants = await load_grants(session, ids) if ids else {}
    needed = frozenset(cat for d in dims if (cat := CATEGORY[d]) is not None)
    sealed_names = sorted(_SEALED_FIELD[d] for d in dims if d in _SEALED_FIELD)
    keys, erased = await keys_and_erasures(session, cipher, ids, with_keys=bool(sealed_names))
    counted = [
        c
        for c in cases
        if c.id not in erased and consented(grants.get(c.id, []), recipient, needed, at)
    ]
    counted_ids = [c.id for c in counted]
    opened: dict[str, dict[str, object]] = defaultdict(dict)
    if sealed_names and counted_ids:
        found = await session.execute(
            select(CaseField.case_id, CaseField.field, CaseField.sealed).where(
                CaseField.case_id.in_(counted_ids), CaseField.field.in_(sealed_names)
            )
        )
        for case_id, name, value in found:
            plain = open_sealed(
                cipher, keys.get(case_id), value, table="case_fields", column=name, row_id=case_id
            )
            opened[case_id][name] = orjson.loads(plain)
    base: dict[str, dict[Dimension, tuple[str, ...]]] = {}
    for c in counted:
        values = opened.get(c.id, {})
        base[c.id] = {
            Dimension.SEX: (c.sex,),
            Dimension.AGE_BAND: (c.age_band,),
            Dimension.PROVINCE: (province_label(values.get("homeProvince")),),
            Dimension.EXPLOITATION_TYPE: exploitation_labels(values.get("exploitationTypes")),
            Dimension.DESTINATION_COUNTRY: (country_label(values.get("destinationCountry")),),
        }
    opened.clear()
    if measure is Measure.CASES:
        return [
            Item(
                c.id,
                {
                    **base[c.id],
                    Dimension.MONTH: (month_of(c.created_at),),
                    Dimension.OUTCOME: (c.status,),
                },
            )
            for c in counted
        ]
    if measure is Measure.REFERRALS:
        return await _referral_items(session, base)
    return await _repatriation_items(session, base)


async def _first_changes(
    session: AsyncSession, table: type[ReferralChange] | type[RepatriationChange], ids: list[str]
) -> dict[tuple[str, str], datetime]:
    """The first time each subject went through each action."""
    subject = (
        ReferralChange.referral_id if table is ReferralChange else RepatriationChange.request_id
    )
    rows = await session.execute(
        select(subject, table.action, table.at).where(subject.in_(ids)).order_by(table.at)
    )
    first: dict[tuple[str, str], datetime] = {}
    for subject_id, action, at in rows:
        first.setdefault((subject_id, action), at)
    return first


async def _referral_items(
    session: AsyncSession, base: dict[str, dict[Dimension, tuple[str, ...]]]
) -> list[Item]:
    if not base:
        return []
    referrals = (
        await session.execute(
            select(Referral.id, Referral.case_id, Referral.status, Referral.created_at).where(
                Referral.case_id.in_(list(base))
            )
        )
    ).all()
    first = await _first_changes(session, ReferralChange, [r.id for r in referrals])
    items = []
    for r in referrals:
        responded = [first.get((r.id, a)) for a in ("ACCEPT", "DECLINE")]
        response = min((t for t in responded if t is not None), default=None)
        items.append(
            Item(
                r.case_id,
                {
                    **base[r.case_id],
                    Dimension.MONTH: (month_of(r.created_at),),
                    Dimension.OUTCOME: (r.status,),
                    Dimension.ACKNOWLEDGE_TIME: (
                        time_band(r.created_at, first.get((r.id, "ACKNOWLEDGE"))),
                    ),
                    Dimension.RESPONSE_TIME: (time_band(r.created_at, response),),
                },
            )
        )
    return items


async def _repatriation_items(
    session: AsyncSession, base: dict[str, dict[Dimension, tuple[str, ...]]]
) -> list[Item]:
    if not base:
        return []
    requests = (
        await session.execute(
            select(
                RepatriationRequest.id,
                RepatriationRequest.case_id,
                RepatriationRequest.status,
                RepatriationRequest.created_at,
            ).where(RepatriationRequest.case_id.in_(list(base)))
        )
    ).all()
    first = await _first_changes(session, RepatriationChange, [r.id for r in requests])
    return [
        Item(
            r.case_id,
            {
                **base[r.case_id],
                Dimension.MONTH: (month_of(r.created_at),),
                Dimension.OUTCOME: (r.status,),
                Dimension.ACKNOWLEDGE_TIME: (
                    time_band(r.created_at, first.get((r.id, "ACKNOWLEDGE"))),
                ),
            },
        )
        for r in requests
    ]
