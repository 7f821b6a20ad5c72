"""Releasing the free text attached to referrals and repatriation requests: the same gates
as case fields, decided once per object when it loads.

The case's owner reads every text (with the object's read scope); anyone else reads a
text only when ``consent.decide`` allows its category for the purpose the object serves,
now. What is withheld is never decrypted and is listed with its reason; what is shown to
another organisation becomes a disclosure record, citing the consent that allowed it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import ERASED, Withheld, load_grants
from cases.access import SCOPE_REQUIRED as PII_SCOPE_REQUIRED
from cases.case_keys import owners_and_ciphers
from cases.free_text import SCOPE_REQUIRED, TextField
from cases.rules import PII_CATEGORIES
from consent.disclosure import DisclosureRecord
from consent.rules import DataCategory, Decision, Grant, Purpose, Recipient, decide
from orgs.principal import Principal
from store.sealed import FieldCipher


@dataclass(frozen=True, slots=True)
class SealedText:
    """One stored text and where it is bound (table, column, row) for opening."""

    field: TextField
    slot: str
    sealed: str | None
    category: DataCategory
    table: str
    column: str
    row_id: str


@dataclass(frozen=True, slots=True)
class TextSubject:
    """The texts of one object, the case they are about and the purpose the object serves."""

    case_id: str
    purpose: Purpose
    texts: Sequence[SealedText]


@dataclass
class TextView:
    """The texts one organisation may read of one object: withheld ones are absent."""

    values: dict[str, str] = field(default_factory=dict)
    withheld: list[Withheld] = field(default_factory=list)
    disclosures: list[DisclosureRecord] = field(default_factory=list)


def release(
    viewer: Principal,
    read_scope: str,
    is_owner: bool,
    grants: Sequence[Grant],
    purpose: Purpose,
    category: DataCategory,
    at: datetime,
) -> Decision | str | None:
    """None: the owner reads it. A Decision: consent allows it (cite it). A str: why not."""
    if not viewer.has(read_scope):
        return SCOPE_REQUIRED
    if category in PII_CATEGORIES and not viewer.has("pii:read"):
        return PII_SCOPE_REQUIRED
    if is_owner:
        return None
    recipient = Recipient(viewer.organization_id or "", viewer.organization_kind or "")
    decision = decide(grants, recipient, purpose, category, at)
    if decision.allowed:
        return decision
    assert decision.reason is not None
    return decision.reason.value


async def open_texts(
    session: AsyncSession,
    viewer: Principal,
    cipher: FieldCipher,
    subjects: Sequence[TextSubject],
    at: datetime,
    read_scope: str,
    channel: str,
) -> list[TextView]:
    """A view per subject, in order. Grants are loaded once for every case involved."""
    org = viewer.organization_id or ""
    case_ids = sorted({s.case_id for s in subjects})
    # One statement for every case's owner and key: texts about a case are sealed under it.
    owners, openers = await owners_and_ciphers(
        session, cipher, case_ids, with_keys=viewer.has(read_scope)
    )
    foreign = [c for c in case_ids if owners.get(c) != org]
    grants = await load_grants(session, foreign) if foreign and viewer.has(read_scope) else {}
    views = []
    for subject in subjects:
        is_owner = owners.get(subject.case_id) == org
        view = TextView()
        shown: set[tuple[str, str]] = set()
        by_grant: dict[tuple[str, int], set[str]] = defaultdict(set)
        for text in subject.texts:
            verdict = release(
                viewer,
                read_scope,
                is_owner,
                grants.get(subject.case_id, []),
                subject.purpose,
                text.category,
                at,
            )
            if isinstance(verdict, str):
                key = (text.field.label, text.category.value)
                if key not in shown:
                    shown.add(key)
                    view.withheld.append(Withheld(text.field.label, text.category, verdict))
                continue
            if text.sealed is None:
                continue
            if openers[subject.case_id].shredded(text.sealed):
                key = (text.field.label, text.category.value)
                if key not in shown:
                    shown.add(key)
                    view.withheld.append(Withheld(text.field.label, text.category, ERASED))
                continue
            view.values[text.slot] = openers[subject.case_id].open(
                text.sealed, table=text.table, column=text.column, row_id=text.row_id
            )
            if verdict is not None and verdict.grant_id is not None:
                by_grant[(verdict.grant_id, verdict.grant_version or 0)].add(text.category.value)
        view.disclosures = [
            DisclosureRecord(
                organization_id=org,
                case_id=subject.case_id,
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
