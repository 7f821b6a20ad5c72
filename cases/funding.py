"""Funders and costs on any funded subject: a repatriation request, a reintegration plan,
and whatever kind is registered next (a hearing: one entry in ``SUBJECTS``).

Any member organisation may be named a funder of a subject by whoever manages it; a funder
then records what it pays there and reads the subject's costs and non-survivor metadata
(kind, id, status, the organisations involved), never the survivor's data. The cost report
sums costs per funder and period; it names no subject, let alone a survivor.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.funding_models import FundedCost, SubjectFunder
from cases.funding_rules import CostLine, check_amount, check_currency, check_period, sum_lines
from cases.justice import audience as legal_audience
from cases.justice_models import Hearing, LegalCase
from cases.models import RepatriationRequest
from cases.paging import check_idempotency_key, fingerprint, once
from cases.reintegration import plan_state
from cases.reintegration_models import ReintegrationPlan
from cases.repatriation_rules import CostItem
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, OrganizationKind
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.types import utcnow


class SubjectKind(StrEnum):
    REPATRIATION_REQUEST = "REPATRIATION_REQUEST"
    REINTEGRATION_PLAN = "REINTEGRATION_PLAN"
    HEARING = "HEARING"


@dataclass(frozen=True, slots=True)
class FundedSubject:
    """What the funding mechanism knows of a subject: no survivor data."""

    kind: SubjectKind
    id: str
    status: str
    parties: frozenset[str]  # organisations party to the subject itself
    managers: frozenset[str]  # the parties that may name funders


Lookup = Callable[[AsyncSession, str], Awaitable[FundedSubject | None]]


@dataclass(frozen=True, slots=True)
class SubjectRegistration:
    lookup: Lookup
    read_scope: str
    write_scope: str
    topic: str  # the event topic of the subject's own events


async def _repatriation(session: AsyncSession, subject_id: str) -> FundedSubject | None:
    request = await session.get(RepatriationRequest, subject_id)
    if request is None:
        return None
    return FundedSubject(
        SubjectKind.REPATRIATION_REQUEST,
        request.id,
        request.status,
        frozenset(
            {
                request.requester_organization_id,
                request.embassy_organization_id,
                request.reception_organization_id,
            }
        ),
        frozenset({request.requester_organization_id}),
    )


async def _plan(session: AsyncSession, subject_id: str) -> FundedSubject | None:
    plan = await session.get(ReintegrationPlan, subject_id)
    if plan is None:
        return None
    state = await plan_state(session, plan)
    return FundedSubject(
        SubjectKind.REINTEGRATION_PLAN,
        plan.id,
        plan.status,
        frozenset(state.parties()),
        frozenset({state.owner}),
    )


async def _hearing(session: AsyncSession, subject_id: str) -> FundedSubject | None:
    """A hearing of a legal case: its parties are the legal case's (opener, legal aid
    organisation, owners of linked cases); the opener and the legal aid organisation name
    funders (transport and accommodation for the survivor are often paid by another member)."""
    hearing = await session.get(Hearing, subject_id)
    if hearing is None:
        return None
    legal = await session.get(LegalCase, hearing.legal_case_id)
    if legal is None:
        return None
    return FundedSubject(
        SubjectKind.HEARING,
        hearing.id,
        legal.status,
        frozenset(await legal_audience(session, legal)),
        frozenset({legal.opened_by_organization_id, legal.legal_aid_organization_id}),
    )


# subject kind -> how to find it and who is party to it. A new funded kind is one entry.
SUBJECTS: dict[SubjectKind, SubjectRegistration] = {
    SubjectKind.REPATRIATION_REQUEST: SubjectRegistration(
        _repatriation, "repatriation:read", "repatriation:write", "REPATRIATION"
    ),
    SubjectKind.REINTEGRATION_PLAN: SubjectRegistration(
        _plan, "cases:read", "cases:write", "REINTEGRATION"
    ),
    SubjectKind.HEARING: SubjectRegistration(_hearing, "cases:read", "cases:write", "LEGAL"),
}


@dataclass
class Funding:
    subject: FundedSubject
    funders: list[SubjectFunder]
    costs: list[FundedCost]

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        return sum_lines(CostLine("", "", "", c.currency, Decimal(c.amount)) for c in self.costs)


async def _funders(
    session: AsyncSession, kind: SubjectKind, subject_id: str
) -> list[SubjectFunder]:
    return list(
        await session.scalars(
            select(SubjectFunder)
            .where(SubjectFunder.subject_kind == kind.value, SubjectFunder.subject_id == subject_id)
            .order_by(SubjectFunder.named_at, SubjectFunder.id)
        )
    )


async def _subject(
    session: AsyncSession, actor: Principal, kind: SubjectKind, subject_id: str, scope: str
) -> tuple[FundedSubject, list[SubjectFunder]]:
    """The subject if the actor holds ``scope`` and is a party or a named funder;
    NOT_FOUND otherwise, as if it did not exist."""
    org = actor.organization_id
    if org is None or not actor.has(scope):
        raise not_found("funded subject")
    subject = await SUBJECTS[kind].lookup(session, subject_id)
    if subject is None:
        raise not_found("funded subject")
    funders = await _funders(session, kind, subject_id)
    if org not in subject.parties and org not in {f.organization_id for f in funders}:
        raise not_found("funded subject")
    return subject, funders


def _audience(subject: FundedSubject, funders: Sequence[SubjectFunder]) -> list[str]:
    return sorted({*subject.parties, *(f.organization_id for f in funders)})


def _payload(subject: FundedSubject, **extra: object) -> dict[str, object]:
    return {"subjectKind": subject.kind.value, "subjectId": subject.id, **extra}


async def name_funder(
    db: Database, actor: Principal, kind: SubjectKind, subject_id: str, funder_id: str
) -> Funding:
    """Whoever manages the subject names an organisation as a funder. Naming it again
    changes nothing."""
    registration = SUBJECTS[kind]
    async with db.write() as session:
        subject, funders = await _subject(
            session, actor, kind, subject_id, registration.write_scope
        )
        if actor.organization_id not in subject.managers:
            raise HubError(
                ErrorCode.FORBIDDEN, "only the organisation that manages it names funders"
            )
        org = await session.get(Organization, funder_id)
        if org is None or org.status != MembershipStatus.ACTIVE:
            raise HubError(ErrorCode.BAD_USER_INPUT, "the funder is not an active member")
        if all(f.organization_id != org.id for f in funders):
            named = SubjectFunder(
                id=str(uuid.uuid4()),
                subject_kind=kind.value,
                subject_id=subject.id,
                organization_id=org.id,
                named_by_organization_id=actor.organization_id or "",
                named_at=utcnow(),
            )
            session.add(named)
            await session.flush()
            funders.append(named)
            await emit(
                session,
                topic=registration.topic,
                type="FUNDER_NAMED",
                subject_id=subject.id,
                actor_organization_id=actor.organization_id,
                audience=_audience(subject, funders),
                payload=_payload(subject, funder=org.id),
            )
            await record_audit(
                session,
                actor_organization_id=actor.organization_id,
                actor_client_id=actor.client_id,
                action="funding.name_funder",
                subject_type=kind.value,
                subject_id=subject.id,
                detail={"funder": org.id},
                request_id=actor.request_id,
            )
        costs = await _costs(session, kind, subject.id)
    return Funding(subject, funders, costs)


@dataclass(frozen=True, slots=True)
class NewCost:
    item: CostItem
    amount: str
    currency: str
    incurred_on: date | None = None
    idempotency_key: str | None = None


async def record_cost(
    db: Database, actor: Principal, kind: SubjectKind, subject_id: str, new: NewCost
) -> FundedCost:
    """A named funder, or a party paying itself, records a cost on the subject. With an
    idempotency key a retry returns the cost already recorded."""
    amount = check_amount(new.amount)
    currency = check_currency(new.currency)
    today = utcnow().date()
    incurred_on = new.incurred_on or today
    if incurred_on > today:
        raise HubError(ErrorCode.BAD_USER_INPUT, "incurredOn cannot be in the future")
    funder = actor.organization_id or ""
    if new.idempotency_key is None:
        return await _record(db, actor, kind, subject_id, new, amount, currency, incurred_on)
    key = check_idempotency_key(new.idempotency_key)
    digest = fingerprint(
        [kind.value, subject_id, new.item.value, amount, currency, incurred_on.isoformat()]
    )

    async def existing(session: AsyncSession) -> FundedCost | None:
        found: FundedCost | None = await session.scalar(
            select(FundedCost).where(
                FundedCost.funder_organization_id == funder, FundedCost.idempotency_key == key
            )
        )
        return found

    async def create() -> FundedCost:
        return await _record(
            db, actor, kind, subject_id, new, amount, currency, incurred_on, key, digest
        )

    found = await once(db, existing, create, digest, "cost")
    return found


async def _record(
    db: Database,
    actor: Principal,
    kind: SubjectKind,
    subject_id: str,
    new: NewCost,
    amount: str,
    currency: str,
    incurred_on: date,
    key: str | None = None,
    digest: str | None = None,
) -> FundedCost:
    registration = SUBJECTS[kind]
    async with db.write() as session:
        subject, funders = await _subject(
            session, actor, kind, subject_id, registration.write_scope
        )
        cost = FundedCost(
            id=str(uuid.uuid4()),
            subject_kind=kind.value,
            subject_id=subject.id,
            funder_organization_id=actor.organization_id or "",
            item=new.item.value,
            amount=amount,
            currency=currency,
            incurred_on=incurred_on,
            recorded_at=utcnow(),
            idempotency_key=key,
            request_fingerprint=digest or "",
        )
        session.add(cost)
        await session.flush()
        await emit(
            session,
            topic=registration.topic,
            type="FUNDING_COST_RECORDED",
            subject_id=subject.id,
            actor_organization_id=actor.organization_id,
            audience=_audience(subject, funders),
            payload=_payload(subject, item=cost.item, currency=cost.currency),
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="funding.cost",
            subject_type=kind.value,
            subject_id=subject.id,
            detail={"item": cost.item, "amount": cost.amount, "currency": cost.currency},
            request_id=actor.request_id,
        )
    return cost


async def _costs(session: AsyncSession, kind: SubjectKind, subject_id: str) -> list[FundedCost]:
    return list(
        await session.scalars(
            select(FundedCost)
            .where(FundedCost.subject_kind == kind.value, FundedCost.subject_id == subject_id)
            .order_by(FundedCost.recorded_at, FundedCost.id)
        )
    )


async def funding(
    db: Database, actor: Principal, kind: SubjectKind, subject_id: str, *, reading: bool = True
) -> Funding:
    """The subject's funders and costs, for a party or a funder holding its read scope."""
    registration = SUBJECTS[kind]
    scope = registration.read_scope if reading else registration.write_scope
    async with db.read() as session:
        subject, funders = await _subject(session, actor, kind, subject_id, scope)
        costs = await _costs(session, kind, subject.id)
    return Funding(subject, funders, costs)


async def costs_of(
    db: Database, kind: SubjectKind, subject_ids: Sequence[str]
) -> dict[str, list[FundedCost]]:
    """Costs of many subjects of one kind in one query (callers filter access)."""
    found: dict[str, list[FundedCost]] = {i: [] for i in subject_ids}
    async with db.read() as session:
        for cost in await session.scalars(
            select(FundedCost)
            .where(FundedCost.subject_kind == kind.value, FundedCost.subject_id.in_(list(found)))
            .order_by(FundedCost.recorded_at, FundedCost.id)
        ):
            found[cost.subject_id].append(cost)
    return found


@dataclass(frozen=True, slots=True)
class CostReport:
    funder_id: str | None
    start: date
    end: date
    lines: list[CostLine]
    totals: list[tuple[str, Decimal]]


async def cost_report(
    db: Database, actor: Principal, funder_id: str | None, start: date, end: date
) -> CostReport:
    """Costs incurred from ``start`` to ``end`` (both included), summed per funder, subject
    kind, item and currency. The coordinator sees every funder (``funder_id`` None: all);
    a member sees its own only."""
    check_period(start, end)
    org = actor.organization_id
    coordinator = actor.organization_kind == OrganizationKind.COORDINATOR.value
    if not coordinator:
        if org is None or (funder_id is not None and funder_id != org):
            raise HubError(ErrorCode.FORBIDDEN, "an organisation sees the report of its own costs")
        funder_id = org
    query = select(
        FundedCost.funder_organization_id,
        FundedCost.subject_kind,
        FundedCost.item,
        FundedCost.currency,
        FundedCost.amount,
    ).where(FundedCost.incurred_on >= start, FundedCost.incurred_on <= end)
    if funder_id is not None:
        query = query.where(FundedCost.funder_organization_id == funder_id)
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    by_key: dict[tuple[str, str, str, str], Decimal] = {}
    for funder, kind, item, currency, amount in rows:
        key = (funder, kind, item, currency)
        by_key[key] = by_key.get(key, Decimal(0)) + Decimal(amount)
    lines = [CostLine(*key, amount) for key, amount in sorted(by_key.items())]
    return CostReport(funder_id, start, end, lines, sum_lines(lines))
