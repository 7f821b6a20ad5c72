"""Who may see which case, and which of its fields: one filter and one read model.

A case is visible to its owner and to organisations with a party relation in force. For
anyone but the owner every sensitive field is decided by consent, for each purpose the
viewer's relations serve; IDENTITY and CONTACT also need the ``pii:read`` scope. Fields are
decided once per case when it loads, so GraphQL types only read plain attributes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.case_keys import erased_among, load_case_keys
from cases.models import Case, CaseField, CaseParty
from cases.rules import PII_CATEGORIES, SENSITIVE_FIELDS
from consent.disclosure import DisclosureRecord
from consent.models import ConsentGrant, ConsentWithdrawal
from consent.rules import DataCategory, Decision, DenyReason, Grant, Purpose, Recipient, decide
from orgs.principal import Principal
from store.case_keys import CaseKey, open_sealed
from store.sealed import FieldCipher

SCOPE_REQUIRED = "PII_SCOPE_REQUIRED"
NO_RELATION = "NO_PURPOSE"
# A case is read with `cases:read`, whichever root, edge or mutation result led to it.
READ_SCOPE = "cases:read"
READ_SCOPE_REQUIRED = "SCOPE_REQUIRED"
# The survivor's data was destroyed (at her request or after the retention period).
ERASED = "ERASED"


def parties_in_force(at: datetime) -> ColumnElement[bool]:
    return and_(
        CaseParty.ended_at.is_(None),
        CaseParty.valid_from <= at,
        or_(CaseParty.valid_until.is_(None), CaseParty.valid_until > at),
    )


def visible_to(organization_id: str, at: datetime) -> ColumnElement[bool]:
    """The row filter every case query applies: owner, or a party in force.

    A correlated ``EXISTS`` probes the (case, organisation) index once per case; an ``IN``
    over the organisation's party rows grew with every referral it ever had.
    """
    party = (
        select(CaseParty.id)
        .where(
            CaseParty.case_id == Case.id,
            CaseParty.organization_id == organization_id,
            parties_in_force(at),
        )
        .exists()
    )
    return or_(Case.owner_organization_id == organization_id, party)


@dataclass(frozen=True, slots=True)
class Withheld:
    field: str
    category: DataCategory
    reason: str


@dataclass
class CaseView:
    """A case as one organisation may see it: withheld fields are None and listed."""

    case: Case
    viewer_is_owner: bool
    values: dict[str, Any] = field(default_factory=dict)
    withheld: list[Withheld] = field(default_factory=list)
    disclosures: list[DisclosureRecord] = field(default_factory=list)


def to_grant(row: ConsentGrant, withdrawn_at: datetime | None) -> Grant:
    return Grant(
        id=row.id,
        version=row.version,
        purposes=frozenset(Purpose(p) for p in row.purposes),
        categories=frozenset(DataCategory(c) for c in row.categories),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        recipient_organizations=frozenset(row.recipient_organization_ids),
        recipient_kinds=frozenset(row.recipient_kinds),
        withdrawn_at=withdrawn_at,
    )


async def load_grants(session: AsyncSession, case_ids: Sequence[str]) -> dict[str, list[Grant]]:
    grants: dict[str, list[Grant]] = defaultdict(list)
    rows = await session.execute(
        select(ConsentGrant, ConsentWithdrawal.at)
        .outerjoin(ConsentWithdrawal, ConsentWithdrawal.grant_id == ConsentGrant.id)
        .where(ConsentGrant.case_id.in_(list(case_ids)))
    )
    for grant, withdrawn_at in rows:
        grants[grant.case_id].append(to_grant(grant, withdrawn_at))
    return grants


async def party_purposes(
    session: AsyncSession, case_ids: Sequence[str], organization_id: str, at: datetime
) -> dict[str, set[Purpose]]:
    purposes: dict[str, set[Purpose]] = defaultdict(set)
    rows = await session.execute(
        select(CaseParty.case_id, CaseParty.purpose).where(
            CaseParty.case_id.in_(list(case_ids)),
            CaseParty.organization_id == organization_id,
            parties_in_force(at),
        )
    )
    for case_id, purpose in rows:
        purposes[case_id].add(Purpose(purpose))
    return purposes


def _best_denial(decisions: list[Decision]) -> str:
    order = list(DenyReason)
    reasons = [d.reason for d in decisions if d.reason is not None]
    if not reasons:
        return NO_RELATION
    return max(reasons, key=order.index).value


def erased_fields() -> list[Withheld]:
    """Every sensitive field of an erased case, withheld for everyone, the owner included."""
    return [Withheld(spec.name, spec.category, ERASED) for spec in SENSITIVE_FIELDS]


def decide_fields(
    viewer: Principal,
    is_owner: bool,
    grants: list[Grant],
    purposes: set[Purpose],
    at: datetime,
) -> tuple[dict[str, Decision | None], list[Withheld]]:
    """For each sensitive field: the decision that allows it (None for the owner), or why not."""
    allowed: dict[str, Decision | None] = {}
    withheld: list[Withheld] = []
    recipient = Recipient(viewer.organization_id or "", viewer.organization_kind or "")
    for spec in SENSITIVE_FIELDS:
        if not viewer.has(READ_SCOPE):
            withheld.append(Withheld(spec.name, spec.category, READ_SCOPE_REQUIRED))
            continue
        if spec.category in PII_CATEGORIES and not viewer.has("pii:read"):
            withheld.append(Withheld(spec.name, spec.category, SCOPE_REQUIRED))
            continue
        if is_owner:
            allowed[spec.name] = None
            continue
        decisions = [decide(grants, recipient, p, spec.category, at) for p in sorted(purposes)]
        granted = [d for d in decisions if d.allowed]
        if granted:
            allowed[spec.name] = granted[0]
        else:
            withheld.append(Withheld(spec.name, spec.category, _best_denial(decisions)))
    return allowed, withheld


async def build_views(
    session: AsyncSession,
    viewer: Principal,
    cases: Sequence[Case],
    cipher: FieldCipher,
    at: datetime,
    channel: str,
    fields: frozenset[str] | None = None,
) -> list[CaseView]:
    """Read models for ``cases`` (already filtered by ``visible_to``), with the disclosures
    they amount to. Withheld fields are never decrypted; with ``fields``, neither is
    anything the caller did not ask for, so the disclosure log records what was shown."""
    org = viewer.organization_id or ""
    ids = [c.id for c in cases]
    foreign = [c.id for c in cases if c.owner_organization_id != org]
    grants = await load_grants(session, foreign) if foreign else {}
    purposes = await party_purposes(session, foreign, org, at) if foreign else {}
    sealed: dict[str, dict[str, CaseField]] = defaultdict(dict)
    # Only the sealed rows the operation asked for: `case { id status }` loads none.
    wanted = sorted(fields) if fields is not None else None
    keys: dict[str, CaseKey] = {}
    erased: set[str] = set()
    if ids and wanted != []:
        keys = await load_case_keys(session, cipher, ids)
        erased = await erased_among(session, ids)
        query = select(CaseField).where(CaseField.case_id.in_(ids))
        if wanted is not None:
            query = query.where(CaseField.field.in_(wanted))
        for row in await session.scalars(query):
            sealed[row.case_id][row.field] = row
    views = []
    for case in cases:
        is_owner = case.owner_organization_id == org
        allowed, withheld = decide_fields(
            viewer, is_owner, grants.get(case.id, []), purposes.get(case.id, set()), at
        )
        if case.id in erased:
            allowed, withheld = {}, erased_fields()
        view = CaseView(case=case, viewer_is_owner=is_owner, withheld=withheld)
        by_grant: dict[tuple[str, int], set[str]] = defaultdict(set)
        for name, decision in allowed.items():
            if fields is not None and name not in fields:
                continue
            stored = sealed[case.id].get(name)
            if stored is None:
                view.values[name] = None
                continue
            plain = open_sealed(
                cipher,
                keys.get(case.id),
                stored.sealed,
                table="case_fields",
                column=name,
                row_id=case.id,
            )
            view.values[name] = orjson.loads(plain)
            if decision is not None and decision.grant_id is not None:
                key = (decision.grant_id, decision.grant_version or 0)
                by_grant[key].add(stored.category)
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
        views.append(view)
    return views
