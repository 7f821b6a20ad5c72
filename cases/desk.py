"""The coordinator's view of late items: every overdue or escalated referral, repatriation
request, follow-up visit and intervention request, as metadata only.

The secretariat is told when an item is escalated; this is what it may then read about it:
ids, organisations, status, deadline and how late, and the deadline history. A ``DeskItem``
has no field for a survivor value or a free text, so none can reach the desk through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.desk_models import DeskNotice
from cases.desk_rules import DeskItemKind, late_by, on_the_desk
from cases.intervention_models import InterventionRequest
from cases.models import Referral, RepatriationRequest
from cases.referral_rules import ReferralStatus
from cases.reintegration_models import FollowUpVisit, ReintegrationPlan
from orgs.principal import Principal
from orgs.rules import OrganizationKind
from store.engine import Database
from store.errors import ErrorCode, HubError


@dataclass(frozen=True, slots=True)
class ItemParty:
    organization_id: str
    role: str


@dataclass(slots=True)
class DeskItem:
    """One late item, as the coordinator sees it: no survivor field, no free text."""

    kind: DeskItemKind
    id: str
    status: str
    parties: list[ItemParty]
    late_organization_id: str
    due_at: datetime
    late_by: timedelta
    overdue: bool
    reminded_at: datetime | None
    escalated_at: datetime | None
    created_at: datetime
    # Kept for sealing notes on the item; never shown.
    case_id: str
    coordinator_reminders: list[datetime] = field(default_factory=list)


def is_coordinator(actor: Principal) -> bool:
    """The desk is the secretariat's: a coordinator organisation holding network:admin."""
    return actor.organization_kind == OrganizationKind.COORDINATOR.value and actor.has(
        "network:admin"
    )


def _referral_items(rows: Sequence[Referral], now: datetime) -> list[DeskItem]:
    items = []
    for r in rows:
        waiting_ack = r.status == ReferralStatus.SENT
        due = r.acknowledge_by if waiting_ack else r.respond_by
        items.append(
            DeskItem(
                kind=DeskItemKind.REFERRAL,
                id=r.id,
                status=r.status,
                parties=[
                    ItemParty(r.sender_organization_id, "SENDER"),
                    ItemParty(r.receiver_organization_id, "RECEIVER"),
                ],
                late_organization_id=r.receiver_organization_id,
                due_at=due,
                late_by=late_by(due, now) if r.overdue else timedelta(0),
                overdue=r.overdue,
                reminded_at=r.reminded_at,
                escalated_at=r.escalated_at,
                created_at=r.created_at,
                case_id=r.case_id,
            )
        )
    return items


def _repatriation_items(rows: Sequence[RepatriationRequest], now: datetime) -> list[DeskItem]:
    return [
        DeskItem(
            kind=DeskItemKind.REPATRIATION_REQUEST,
            id=r.id,
            status=r.status,
            parties=[
                ItemParty(r.requester_organization_id, "REQUESTER"),
                ItemParty(r.embassy_organization_id, "EMBASSY"),
                ItemParty(r.reception_organization_id, "RECEPTION"),
            ],
            late_organization_id=r.embassy_organization_id,
            due_at=r.acknowledge_by,
            late_by=late_by(r.acknowledge_by, now) if r.overdue else timedelta(0),
            overdue=r.overdue,
            reminded_at=r.reminded_at,
            escalated_at=r.escalated_at,
            created_at=r.created_at,
            case_id=r.case_id,
        )
        for r in rows
    ]


def _intervention_items(rows: Sequence[InterventionRequest], now: datetime) -> list[DeskItem]:
    return [
        DeskItem(
            kind=DeskItemKind.INTERVENTION_REQUEST,
            id=r.id,
            status=r.status,
            parties=[
                ItemParty(r.requester_organization_id, "REQUESTER"),
                ItemParty(r.embassy_organization_id, "EMBASSY"),
            ],
            late_organization_id=r.embassy_organization_id,
            due_at=r.acknowledge_by,
            late_by=late_by(r.acknowledge_by, now) if r.overdue else timedelta(0),
            overdue=r.overdue,
            reminded_at=r.reminded_at,
            escalated_at=r.escalated_at,
            created_at=r.created_at,
            case_id=r.case_id,
        )
        for r in rows
    ]


def _visit_items(rows: Sequence[tuple[FollowUpVisit, str, str]], now: datetime) -> list[DeskItem]:
    return [
        DeskItem(
            kind=DeskItemKind.FOLLOW_UP_VISIT,
            id=v.id,
            status=v.status,
            parties=[
                ItemParty(planner, "PLAN_OWNER"),
                ItemParty(v.visitor_organization_id, "VISITOR"),
            ],
            late_organization_id=v.visitor_organization_id,
            due_at=v.due_at,
            late_by=late_by(v.due_at, now) if v.overdue else timedelta(0),
            overdue=v.overdue,
            reminded_at=v.reminded_at,
            escalated_at=v.escalated_at,
            created_at=v.created_at,
            case_id=case_id,
        )
        for v, planner, case_id in rows
    ]


_VISITS: Select[FollowUpVisit, str, str] = select(
    FollowUpVisit, ReintegrationPlan.created_by_organization_id, ReintegrationPlan.case_id
).join(ReintegrationPlan, ReintegrationPlan.id == FollowUpVisit.plan_id)


async def _load(
    session: AsyncSession, now: datetime, *, current_only: bool, ids: Sequence[str] | None
) -> list[DeskItem]:
    """Items on the desk; ``current_only``: still overdue now (not acknowledged since)."""

    def which(overdue: ColumnElement[bool], escalated: ColumnElement[bool]) -> ColumnElement[bool]:
        return overdue if current_only else or_(overdue, escalated)

    referrals = select(Referral).where(
        which(Referral.overdue.is_(True), Referral.escalated_at.is_not(None))
    )
    requests = select(RepatriationRequest).where(
        which(RepatriationRequest.overdue.is_(True), RepatriationRequest.escalated_at.is_not(None))
    )
    interventions = select(InterventionRequest).where(
        which(InterventionRequest.overdue.is_(True), InterventionRequest.escalated_at.is_not(None))
    )
    visits = _VISITS.where(
        which(FollowUpVisit.overdue.is_(True), FollowUpVisit.escalated_at.is_not(None))
    )
    if ids is not None:
        referrals = referrals.where(Referral.id.in_(ids))
        requests = requests.where(RepatriationRequest.id.in_(ids))
        interventions = interventions.where(InterventionRequest.id.in_(ids))
        visits = visits.where(FollowUpVisit.id.in_(ids))
    items = [
        *_referral_items(list(await session.scalars(referrals)), now),
        *_repatriation_items(list(await session.scalars(requests)), now),
        *_intervention_items(list(await session.scalars(interventions)), now),
        *_visit_items([(v, p, c) for v, p, c in (await session.execute(visits)).all()], now),
    ]
    items = [i for i in items if on_the_desk(i.overdue, i.escalated_at)]
    if items:
        notices = await session.execute(
            select(DeskNotice.item_id, DeskNotice.created_at)
            .where(DeskNotice.item_id.in_([i.id for i in items]))
            .order_by(DeskNotice.created_at)
        )
        by_item: dict[str, list[datetime]] = {}
        for item_id, at in notices:
            by_item.setdefault(item_id, []).append(at)
        for item in items:
            item.coordinator_reminders = by_item.get(item.id, [])
    return items


def _refuse_unless_coordinator(actor: Principal) -> None:
    if not is_coordinator(actor):
        raise HubError(ErrorCode.FORBIDDEN, "the network overview is the coordinator's")


async def late_items(
    db: Database, actor: Principal, now: datetime, *, include_settled: bool = False
) -> list[DeskItem]:
    """Every item on the desk, latest first. Settled items (acknowledged after escalation)
    are left out unless asked for."""
    _refuse_unless_coordinator(actor)
    async with db.read() as session:
        items = await _load(session, now, current_only=not include_settled, ids=None)
    items.sort(key=lambda i: (-i.late_by.total_seconds(), i.due_at, i.id))
    return items


async def desk_item(
    session: AsyncSession, actor: Principal, kind: DeskItemKind, item_id: str, now: datetime
) -> DeskItem:
    """One item's metadata for the coordinator, once it is on the desk; before that (or for
    anyone else) it does not exist here."""
    if not is_coordinator(actor):
        raise HubError(ErrorCode.NOT_FOUND, "no such item")
    found = [
        i for i in await _load(session, now, current_only=False, ids=[item_id]) if i.kind == kind
    ]
    if not found:
        raise HubError(ErrorCode.NOT_FOUND, "no such item")
    return found[0]


async def item_for_party_or_desk(
    session: AsyncSession, actor: Principal, kind: DeskItemKind, item_id: str, now: datetime
) -> DeskItem:
    """The item if the caller is one of its parties, or the coordinator once it is on the
    desk; otherwise NOT_FOUND (as if it did not exist)."""
    items = await _any_item(session, kind, item_id, now)
    if items is None:
        raise HubError(ErrorCode.NOT_FOUND, "no such item")
    if is_coordinator(actor) and on_the_desk(items.overdue, items.escalated_at):
        return items
    if actor.organization_id in {p.organization_id for p in items.parties}:
        return items
    raise HubError(ErrorCode.NOT_FOUND, "no such item")


async def _any_item(
    session: AsyncSession, kind: DeskItemKind, item_id: str, now: datetime
) -> DeskItem | None:
    """One item of any standing (not only late ones), as metadata."""
    if kind is DeskItemKind.REFERRAL:
        ref = await session.scalar(select(Referral).where(Referral.id == item_id))
        return _referral_items([ref], now)[0] if ref else None
    if kind is DeskItemKind.REPATRIATION_REQUEST:
        req = await session.scalar(
            select(RepatriationRequest).where(RepatriationRequest.id == item_id)
        )
        return _repatriation_items([req], now)[0] if req else None
    if kind is DeskItemKind.INTERVENTION_REQUEST:
        ivr = await session.scalar(
            select(InterventionRequest).where(InterventionRequest.id == item_id)
        )
        return _intervention_items([ivr], now)[0] if ivr else None
    row = (await session.execute(_VISITS.where(FollowUpVisit.id == item_id))).first()
    return _visit_items([(row[0], row[1], row[2])], now)[0] if row else None
