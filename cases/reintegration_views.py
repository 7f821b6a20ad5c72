"""Reading reintegration plans: the plans an organisation is party to, with the free text it
may see, decided once per plan when a page loads (``cases.text_access``, purpose FOLLOW_UP).

The case owner reads every text; a provider or visitor reads a visit note, end reason or
cancel reason only as the survivor's consent allows its category for FOLLOW_UP, and each such
release is written to the disclosure log before anything is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import READ_SCOPE, Withheld
from cases.free_text import TextField, category_of
from cases.models import Case
from cases.paging import after_cursor, check_page_size
from cases.reintegration import PlanState, load_plan
from cases.reintegration_models import FollowUpVisit, ReintegrationPlan, ReintegrationService
from cases.text_access import SealedText, TextSubject, TextView, open_texts
from consent import disclosure
from consent.disclosure import Channel
from consent.rules import Purpose
from orgs.principal import Principal
from store.engine import Database
from store.errors import not_found
from store.sealed import FieldCipher
from store.types import utcnow


@dataclass
class PlanView:
    state: PlanState
    texts: TextView = field(default_factory=TextView)

    @property
    def withheld(self) -> list[Withheld]:
        return self.texts.withheld

    def text(self, slot: str) -> str | None:
        return self.texts.values.get(slot)


def _texts(state: PlanState) -> list[SealedText]:
    plan = state.plan
    texts = []
    if plan.cancel_reason_sealed is not None:
        texts.append(
            SealedText(
                TextField.REINTEGRATION_CANCEL_REASON,
                "cancel_reason",
                plan.cancel_reason_sealed,
                category_of(TextField.REINTEGRATION_CANCEL_REASON, plan.cancel_reason_category),
                "reintegration_plans",
                "cancel_reason",
                plan.id,
            )
        )
    for service in state.services:
        if service.end_reason_sealed is not None:
            texts.append(
                SealedText(
                    TextField.REINTEGRATION_SERVICE_END_REASON,
                    f"service:{service.id}",
                    service.end_reason_sealed,
                    category_of(
                        TextField.REINTEGRATION_SERVICE_END_REASON, service.end_reason_category
                    ),
                    "reintegration_services",
                    "end_reason",
                    service.id,
                )
            )
    for visit in state.visits:
        if visit.note_sealed is not None:
            texts.append(
                SealedText(
                    TextField.FOLLOW_UP_VISIT_NOTE,
                    f"visit:{visit.id}",
                    visit.note_sealed,
                    category_of(TextField.FOLLOW_UP_VISIT_NOTE, visit.note_category),
                    "follow_up_visits",
                    "note",
                    visit.id,
                )
            )
    return texts


async def plan_views(
    db: Database, actor: Principal, cipher: FieldCipher, states: Sequence[PlanState]
) -> list[PlanView]:
    """Plans as ``actor`` may read them; the disclosures are logged before returning."""
    now = utcnow()
    async with db.read() as session:
        subjects = [TextSubject(s.case.id, Purpose.FOLLOW_UP, _texts(s)) for s in states]
        texts = await open_texts(session, actor, cipher, subjects, now, READ_SCOPE, Channel.QUERY)
    await disclosure.record(db, [r for t in texts for r in t.disclosures])
    return [PlanView(s, t) for s, t in zip(states, texts, strict=True)]


async def get_plan(
    db: Database, actor: Principal, cipher: FieldCipher, plan_id: str, *, reading: bool = True
) -> PlanView:
    """One plan for a party holding `cases:read` (a writer reloading what it changed passes
    ``reading=False``; its texts are still gated by the scope)."""
    if reading and not actor.has(READ_SCOPE):
        raise not_found("reintegration plan")
    async with db.read() as session:
        state = await load_plan(session, actor, plan_id)
    return (await plan_views(db, actor, cipher, [state]))[0]


def _party_of(organization_id: str) -> ColumnElement[bool]:
    owned = select(Case.id).where(Case.owner_organization_id == organization_id)
    provides = select(ReintegrationService.plan_id).where(
        ReintegrationService.provider_organization_id == organization_id
    )
    visits = select(FollowUpVisit.plan_id).where(
        FollowUpVisit.visitor_organization_id == organization_id
    )
    return or_(
        ReintegrationPlan.case_id.in_(owned),
        ReintegrationPlan.id.in_(provides),
        ReintegrationPlan.id.in_(visits),
    )


async def list_plans(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    case_id: str | None,
    first: int,
    after: str | None,
) -> tuple[list[PlanView], bool]:
    """Plans the actor owns, provides for or visits, newest first; one page."""
    check_page_size(first)
    if not actor.has(READ_SCOPE) or actor.organization_id is None:
        return [], False
    query = (
        select(ReintegrationPlan)
        .where(_party_of(actor.organization_id))
        .order_by(ReintegrationPlan.created_at.desc(), ReintegrationPlan.id.desc())
        .limit(first + 1)
    )
    if case_id is not None:
        query = query.where(ReintegrationPlan.case_id == case_id)
    if after:
        query = query.where(after_cursor(after, ReintegrationPlan.created_at, ReintegrationPlan.id))
    async with db.read() as session:
        rows = list(await session.scalars(query))
        states = await _states(session, rows[:first])
    return await plan_views(db, actor, cipher, states), len(rows) > first


async def _states(session: AsyncSession, plans: Sequence[ReintegrationPlan]) -> list[PlanState]:
    """Services, visits and cases of a page of plans in three queries, whatever its size."""
    ids = [p.id for p in plans]
    if not ids:
        return []
    cases = {
        c.id: c
        for c in await session.scalars(select(Case).where(Case.id.in_({p.case_id for p in plans})))
    }
    states = {p.id: PlanState(p, cases[p.case_id]) for p in plans}
    for service in await session.scalars(
        select(ReintegrationService)
        .where(ReintegrationService.plan_id.in_(ids))
        .order_by(ReintegrationService.created_at, ReintegrationService.id)
    ):
        states[service.plan_id].services.append(service)
    for visit in await session.scalars(
        select(FollowUpVisit)
        .where(FollowUpVisit.plan_id.in_(ids))
        .order_by(FollowUpVisit.due_at, FollowUpVisit.id)
    ):
        states[visit.plan_id].visits.append(visit)
    return [states[i] for i in ids]
