"""Referrals read for one request, complete: each row with its sender, its receiver and its
case as the reader may see them, decided once per row where the rows load.

A list costs the same few statements whatever its length, all in the request's read
transaction: the page (its cases joined, under the one visibility filter), the
organisations, and, only when the operation asks for them, the texts, the grants, the
parties and the sealed fields. GraphQL types then read plain attributes: no per-row
resolver re-decides or re-loads anything.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases import referrals as service
from cases.access import READ_SCOPE as CASE_READ_SCOPE
from cases.access import CaseView, build_views, visible_to
from cases.models import Case, Referral
from cases.paging import after_position, check_page_size, decode_cursor
from cases.referral_rules import ReferralStatus
from cases.text_views import ReferralView, referral_texts
from consent.disclosure import Channel, DisclosureRecord
from orgs.models import Organization
from orgs.principal import Principal
from store.reads import RequestReads
from store.sealed import FieldCipher
from store.types import UTCDateTime, utcnow


@dataclass(frozen=True, slots=True)
class CaseWants:
    """What an operation asks of a referral's case: which sealed fields, and whether it
    asks for the ``withheld`` list (then every field is decided)."""

    fields: frozenset[str] = frozenset()
    withheld: bool = False


@dataclass(frozen=True, slots=True)
class ReferralWants:
    """What an operation asks of each referral, read once per list from its selection."""

    texts: frozenset[str] = frozenset()
    organizations: bool = False
    case: CaseWants | None = None


@dataclass
class ReferralRead:
    """One referral as the reader may see it, with everything the operation asked for."""

    view: ReferralView
    sender: Organization | None = None
    receiver: Organization | None = None
    case: CaseView | None = None


@dataclass
class ReferralReads:
    reads: list[ReferralRead]
    has_next: bool = False
    disclosures: list[DisclosureRecord] = field(default_factory=list)


async def referral_page(
    reads: RequestReads,
    actor: Principal,
    cipher: FieldCipher,
    box: str,
    status: ReferralStatus | None,
    first: int,
    after: str | None,
    wants: ReferralWants,
) -> ReferralReads:
    """One page of the actor's inbox or outbox (none without `referrals:read`)."""
    check_page_size(first)
    if not actor.has(service.READ_SCOPE):
        return ReferralReads([])
    now = utcnow()
    with_case = wants.case is not None and actor.has(CASE_READ_SCOPE)
    params: dict[str, object] = {
        "org": actor.organization_id or "",
        "limit": first + 1,
        "now": now,
    }
    if status is not None:
        params["status"] = status.value
    if after:
        params["after_at"], params["after_id"] = decode_cursor(after)
    query = _page_statement(box == service.Box.INBOX, status is not None, bool(after), with_case)
    cases: dict[str, Case] | None = None
    async with reads.session() as session:
        found = (await session.execute(query, params)).all()
        # Plain rows, no ORM instance: each page row is read once, into the answer, and
        # dropped (loading them as mapped objects was a third of the page's CPU). A Core
        # row reads like the mapped object it mirrors (same attribute names), so the
        # readers downstream take it as one.
        rows = cast(list[Referral], found)
        if with_case:
            cases = {}
            for row in found[:first]:
                if row[_CASE_AT] is not None:
                    case = CaseRecord._make(row[_CASE_AT:])
                    cases[case.id] = cast(Case, case)
        page = await _complete(session, actor, cipher, rows[:first], wants, cases)
    page.has_next = len(rows) > first
    return page


class CaseRecord(NamedTuple):
    """A case row's columns, as the page reads them along with its referral: the mapped
    ``Case``'s attribute names, in its table's column order (a unit test holds them
    equal), so access decisions and GraphQL types read it as they read a ``Case``."""

    id: str
    reference: str
    owner_organization_id: str
    status: str
    version: int
    age_band: str
    sex: str
    nationality: str | None
    languages: list[str]
    needs: list[str]
    created_at: datetime
    updated_at: datetime


_REFERRALS = Referral.__table__.c
_CASES = Case.__table__.c
# Where a page row's case columns start (they follow every referral column).
_CASE_AT = len(_REFERRALS)


@functools.cache
def _page_statement(inbox: bool, by_status: bool, after: bool, with_case: bool) -> Select[Any]:
    """The page query of one shape, built once: only its parameters change per request
    (building the expression cost more than running it). With ``with_case`` each row
    brings its case through the same filter every case read applies: a case the reader
    may not see is simply not joined."""
    column = _REFERRALS.receiver_organization_id if inbox else _REFERRALS.sender_organization_id
    query: Select[Any] = (
        select(*_REFERRALS)
        .where(column == bindparam("org"))
        .order_by(_REFERRALS.created_at.desc(), _REFERRALS.id.desc())
        .limit(bindparam("limit"))
    )
    if by_status:
        query = query.where(_REFERRALS.status == bindparam("status"))
    if after:
        query = query.where(
            after_position(
                _REFERRALS.created_at, _REFERRALS.id, bindparam("after_at"), bindparam("after_id")
            )
        )
    if with_case:
        # Labelled: the case's columns share names (id, status, ...) with the referral's.
        query = query.add_columns(*(c.label(f"case__{c.name}") for c in _CASES)).outerjoin_from(
            Referral.__table__,
            Case.__table__,
            and_(
                _CASES.id == _REFERRALS.case_id,
                visible_to(bindparam("org"), bindparam("now", type_=UTCDateTime())),
            ),
        )
    return query


# Plain rows too: the page converts each organisation once and drops the row.
_ORGANIZATIONS = select(*Organization.__table__.c).where(
    Organization.__table__.c.id.in_(bindparam("ids", expanding=True))
)


async def read_referrals(
    reads: RequestReads,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[Referral],
    wants: ReferralWants,
) -> ReferralReads:
    """``rows`` (already checked: the actor is party to each) as the actor may see them."""
    async with reads.session() as session:
        return await _complete(session, actor, cipher, rows, wants, None)


async def _complete(
    session: AsyncSession,
    actor: Principal,
    cipher: FieldCipher,
    rows: Sequence[Referral],
    wants: ReferralWants,
    cases: dict[str, Case] | None,
) -> ReferralReads:
    now = utcnow()
    views = await referral_texts(session, actor, cipher, rows, wants.texts, now)
    disclosures = [record for view in views for record in view.texts.disclosures]
    reads = [ReferralRead(view) for view in views]
    if not rows:
        return ReferralReads(reads, disclosures=disclosures)
    edges = await edges_of(
        session,
        actor,
        cipher,
        [r.sender_organization_id for r in rows] + [r.receiver_organization_id for r in rows],
        [r.case_id for r in rows],
        wants.organizations,
        wants.case,
        cases,
    )
    disclosures += edges.disclosures
    for read, row in zip(reads, rows, strict=True):
        read.sender = edges.organizations.get(row.sender_organization_id)
        read.receiver = edges.organizations.get(row.receiver_organization_id)
        read.case = edges.cases.get(row.case_id)
    return ReferralReads(reads, disclosures=disclosures)


@dataclass
class Edges:
    """The organisations and cases a list of objects points at, as the reader may see them."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    cases: dict[str, CaseView] = field(default_factory=dict)
    disclosures: list[DisclosureRecord] = field(default_factory=list)


async def edges_of(
    session: AsyncSession,
    actor: Principal,
    cipher: FieldCipher,
    organization_ids: Sequence[str],
    case_ids: Sequence[str],
    organizations: bool,
    case: CaseWants | None,
    cases: dict[str, Case] | None = None,
) -> Edges:
    """One statement for the organisations (when asked), and the cases (when asked, unless
    ``cases`` already holds them, read through the visibility filter) decided once each:
    scope, party, consent. A case the reader may not see is absent."""
    now = utcnow()
    found = Edges()
    if organizations and organization_ids:
        rows = await session.execute(_ORGANIZATIONS, {"ids": sorted(set(organization_ids))})
        found.organizations = {o.id: cast(Organization, o) for o in rows}
    if case is None or not case_ids or not actor.has(CASE_READ_SCOPE):
        return found
    if cases is None:
        org = actor.organization_id or ""
        visible = await session.scalars(
            select(Case).where(Case.id.in_(sorted(set(case_ids))), visible_to(org, now))
        )
        cases = {c.id: c for c in visible}
    views = await build_views(
        session,
        actor,
        sorted(cases.values(), key=lambda c: c.id),
        cipher,
        now,
        Channel.QUERY,
        case.fields,
        case.withheld,
    )
    found.cases = {v.case.id: v for v in views}
    # One disclosure per case and consent however many objects on the page share it.
    found.disclosures = [record for v in views for record in v.disclosures]
    return found
