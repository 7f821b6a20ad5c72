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
from sqlalchemy import ColumnElement, Text, bindparam, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.case_facts import CaseFacts, grant_of_text_row, load_case_facts
from cases.case_facts import parties_in_force as parties_in_force  # where it always was
from cases.models import Case, CaseParty
from cases.rules import PII_CATEGORIES, SENSITIVE_FIELDS, SensitiveField
from consent.disclosure import DisclosureRecord
from consent.models import ConsentGrant, ConsentWithdrawal
from consent.rules import DataCategory, Decision, DenyReason, Grant, Purpose, Recipient, decide
from orgs.principal import Principal
from store.case_keys import open_sealed
from store.sealed import FieldCipher
from store.types import UTCDateTime

SCOPE_REQUIRED = "PII_SCOPE_REQUIRED"
NO_RELATION = "NO_PURPOSE"
# A case is read with `cases:read`, whichever root, edge or mutation result led to it.
READ_SCOPE = "cases:read"
READ_SCOPE_REQUIRED = "SCOPE_REQUIRED"
# The survivor's data was destroyed (at her request or after the retention period).
ERASED = "ERASED"


def visible_to(
    organization_id: str | ColumnElement[str], at: datetime | ColumnElement[datetime]
) -> ColumnElement[bool]:
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
    # Set on the case just opened when its person may be known elsewhere (cases.links).
    duplicate_hint: str | None = None


def to_grant(row: Any, withdrawn_at: datetime | None) -> Grant:
    """The policy's view of a grant row (an ORM row)."""
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


# Only what the policy reads, as plain rows: no ORM instance per grant. The four lists
# come as their stored JSON text: a page's grants mostly repeat the same few texts, so
# each distinct text is parsed into its frozenset once per process (``_texts_of`` and
# friends in ``cases.case_facts``) instead of decoded and converted per row.
_GRANT_COLUMNS = (
    ConsentGrant.id,
    ConsentGrant.case_id,
    ConsentGrant.version,
    cast(ConsentGrant.purposes, Text).label("purposes"),
    cast(ConsentGrant.categories, Text).label("categories"),
    ConsentGrant.valid_from,
    ConsentGrant.valid_until,
    cast(ConsentGrant.recipient_organization_ids, Text).label("recipient_organization_ids"),
    cast(ConsentGrant.recipient_kinds, Text).label("recipient_kinds"),
)


# Statements built once; each request only binds its values.
_GRANTS = (
    select(*_GRANT_COLUMNS, ConsentWithdrawal.at)
    .outerjoin(ConsentWithdrawal, ConsentWithdrawal.grant_id == ConsentGrant.id)
    .where(ConsentGrant.case_id.in_(bindparam("case_ids", expanding=True)))
)
_PURPOSES = select(CaseParty.case_id, CaseParty.purpose).where(
    CaseParty.case_id.in_(bindparam("case_ids", expanding=True)),
    CaseParty.organization_id == bindparam("org"),
    parties_in_force(bindparam("at", type_=UTCDateTime())),
)


async def load_grants(session: AsyncSession, case_ids: Sequence[str]) -> dict[str, list[Grant]]:
    grants: dict[str, list[Grant]] = defaultdict(list)
    rows = await session.execute(_GRANTS, {"case_ids": list(case_ids)})
    for row in rows:
        grants[row.case_id].append(
            grant_of_text_row(
                row.id,
                row.version,
                row.purposes,
                row.categories,
                row.valid_from,
                row.valid_until,
                row.recipient_organization_ids,
                row.recipient_kinds,
                row.at,
            )
        )
    return grants


async def party_purposes(
    session: AsyncSession, case_ids: Sequence[str], organization_id: str, at: datetime
) -> dict[str, set[Purpose]]:
    purposes: dict[str, set[Purpose]] = defaultdict(set)
    rows = await session.execute(
        _PURPOSES, {"case_ids": list(case_ids), "org": organization_id, "at": at}
    )
    for case_id, purpose in rows:
        purposes[case_id].add(Purpose(purpose))
    return purposes


_DENIAL_RANK = {reason: rank for rank, reason in enumerate(DenyReason)}


def _best_denial(decisions: list[Decision]) -> str:
    reasons = [d.reason for d in decisions if d.reason is not None]
    if not reasons:
        return NO_RELATION
    return max(reasons, key=_DENIAL_RANK.__getitem__).value


def erased_fields() -> list[Withheld]:
    """Every sensitive field of an erased case, withheld for everyone, the owner included."""
    return [Withheld(spec.name, spec.category, ERASED) for spec in SENSITIVE_FIELDS]


def decide_fields(
    viewer: Principal,
    is_owner: bool,
    grants: list[Grant],
    purposes: set[Purpose],
    at: datetime,
    specs: Sequence[SensitiveField] = SENSITIVE_FIELDS,
) -> tuple[dict[str, Decision | None], list[Withheld]]:
    """For each sensitive field in ``specs``: the decision that allows it (None for the
    owner), or why not.

    Every gate depends on the field's category, not its name, so each category is decided
    once per case and its answer applied to each of its fields.
    """
    allowed: dict[str, Decision | None] = {}
    withheld: list[Withheld] = []
    recipient = Recipient(viewer.organization_id or "", viewer.organization_kind or "")
    by_category: dict[DataCategory, tuple[bool, Decision | None, str]] = {}
    ordered = sorted(purposes)
    for spec in specs:
        verdict = by_category.get(spec.category)
        if verdict is None:
            verdict = _decide_category(
                viewer, is_owner, grants, ordered, spec.category, recipient, at
            )
            by_category[spec.category] = verdict
        shown, decision, reason = verdict
        if shown:
            allowed[spec.name] = decision
        else:
            withheld.append(Withheld(spec.name, spec.category, reason))
    return allowed, withheld


def _decide_category(
    viewer: Principal,
    is_owner: bool,
    grants: list[Grant],
    purposes: list[Purpose],
    category: DataCategory,
    recipient: Recipient,
    at: datetime,
) -> tuple[bool, Decision | None, str]:
    """(shown, the decision citing the consent or None for the owner, why withheld)."""
    if not viewer.has(READ_SCOPE):
        return False, None, READ_SCOPE_REQUIRED
    if category in PII_CATEGORIES and not viewer.has("pii:read"):
        return False, None, SCOPE_REQUIRED
    if is_owner:
        return True, None, ""
    decisions = [decide(grants, recipient, p, category, at) for p in purposes]
    granted = [d for d in decisions if d.allowed]
    if granted:
        return True, granted[0], ""
    return False, None, _best_denial(decisions)


def _specs(fields: frozenset[str] | None, withheld: bool) -> Sequence[SensitiveField]:
    """The fields to decide, in their declared order."""
    if fields is None or withheld:
        return SENSITIVE_FIELDS
    return [spec for spec in SENSITIVE_FIELDS if spec.name in fields]


async def build_views(
    session: AsyncSession,
    viewer: Principal,
    cases: Sequence[Case],
    cipher: FieldCipher,
    at: datetime,
    channel: str,
    fields: frozenset[str] | None = None,
    withheld: bool = True,
) -> list[CaseView]:
    """Read models for ``cases`` (already filtered by ``visible_to``), with the disclosures
    they amount to. Withheld fields are never decrypted; with ``fields``, neither is
    anything the caller did not ask for, so the disclosure log records what was shown.

    Only what is asked is decided: the ``fields``, and every field when the caller asks
    for the ``withheld`` list (``withheld=False`` says it did not). ``case { id status }``
    decides nothing and loads no grant, party or sealed row."""
    org = viewer.organization_id or ""
    ids = [c.id for c in cases]
    specs = _specs(fields, withheld)
    foreign = [c.id for c in cases if c.owner_organization_id != org] if specs else []
    # Only the sealed rows the operation asked for: `case { id status }` loads none. Plain
    # rows, not ORM instances: they are opened once and dropped.
    wanted = sorted(fields) if fields is not None else None
    # An erased case withholds every field as ERASED: known whenever anything is decided.
    # Grants, party purposes, keys, erasures and sealed values come in one statement.
    # Nothing decided, nothing shown: then nothing is loaded either.
    facts = CaseFacts()
    if ids and specs:
        facts = await load_case_facts(session, cipher, ids, foreign, org, at, wanted != [], wanted)
    grants, purposes, keys, erased, sealed = (
        facts.grants,
        facts.purposes,
        facts.keys,
        facts.erased,
        facts.sealed,
    )
    views = []
    for case in cases:
        is_owner = case.owner_organization_id == org
        allowed, refused = decide_fields(
            viewer, is_owner, grants.get(case.id, []), purposes.get(case.id, set()), at, specs
        )
        if case.id in erased:
            allowed, refused = {}, erased_fields()
        view = CaseView(case=case, viewer_is_owner=is_owner, withheld=refused if withheld else [])
        by_grant: dict[tuple[str, int], set[str]] = defaultdict(set)
        for name, decision in allowed.items():
            if fields is not None and name not in fields:
                continue
            stored = sealed[case.id].get(name)
            if stored is None:
                view.values[name] = None
                continue
            category, value = stored
            plain = open_sealed(
                cipher, keys.get(case.id), value, table="case_fields", column=name, row_id=case.id
            )
            view.values[name] = orjson.loads(plain)
            if decision is not None and decision.grant_id is not None:
                key = (decision.grant_id, decision.grant_version or 0)
                by_grant[key].add(category)
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
