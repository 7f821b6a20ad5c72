"""Follow-up visits that come due: the visitor is reminded, then an overdue visit is marked
and escalated to the case owner, the visitor and the coordinators, like every other deadline.

Driven by ``cases.deadlines.run_deadlines``; each visit's step is its own transaction, guarded
so that a re-run (or a second scheduler) changes and announces nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update

from cases.desk_rules import DeskItemKind, coordinator_may_read
from cases.models import Case
from cases.reintegration import SUBJECT, TOPIC, plan_payload
from cases.reintegration_models import FollowUpVisit, ReintegrationPlan
from cases.reintegration_rules import PlanStatus, VisitStatus
from notifications.outbox import emit
from store.audit import record_audit
from store.engine import Database

# A visit is weeks apart from the next: the visitor hears of it a day ahead.
VISIT_REMIND_BEFORE = timedelta(days=1)


async def _flag(
    db: Database,
    visit: FollowUpVisit,
    event_type: str,
    audience: list[str],
    guard: ColumnElement[bool],
    values: dict[str, object],
) -> bool:
    async with db.write() as session:
        result = await session.execute(
            update(FollowUpVisit)
            .where(
                FollowUpVisit.id == visit.id,
                FollowUpVisit.status == VisitStatus.SCHEDULED.value,
                guard,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        plan = await session.get(ReintegrationPlan, visit.plan_id)
        assert plan is not None
        await emit(
            session,
            topic=TOPIC,
            type=event_type,
            subject_id=plan.id,
            actor_organization_id=None,
            audience=audience,
            payload=plan_payload(
                plan, visitId=visit.id, visitStatus=visit.status, dueAt=visit.due_at.isoformat()
            )
            | (
                {"coordinatorMayRead": coordinator_may_read(DeskItemKind.FOLLOW_UP_VISIT, visit.id)}
                if event_type.endswith("_ESCALATED")
                else {}
            ),
        )
        await record_audit(
            session,
            actor_organization_id=None,
            actor_client_id="scheduler",
            action=f"reintegration.{event_type.lower()}",
            subject_type=SUBJECT,
            subject_id=plan.id,
            detail={"visitId": visit.id},
        )
    return True


async def follow_up_deadlines(
    db: Database,
    now: datetime,
    coordinators: list[str],
    remind_before: timedelta = VISIT_REMIND_BEFORE,
) -> tuple[int, int]:
    """One pass over scheduled visits of active plans: (reminded, escalated)."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(FollowUpVisit, Case.owner_organization_id)
                .join(ReintegrationPlan, ReintegrationPlan.id == FollowUpVisit.plan_id)
                .join(Case, Case.id == ReintegrationPlan.case_id)
                .where(
                    FollowUpVisit.status == VisitStatus.SCHEDULED.value,
                    ReintegrationPlan.status == PlanStatus.ACTIVE.value,
                    FollowUpVisit.due_at <= now + remind_before,
                    FollowUpVisit.escalated_at.is_(None),
                )
            )
        ).all()
    reminded = escalated = 0
    for visit, owner in rows:
        parties = sorted({owner, visit.visitor_organization_id})
        if visit.due_at <= now:
            if await _flag(
                db,
                visit,
                "FOLLOW_UP_VISIT_ESCALATED",
                [*parties, *coordinators],
                FollowUpVisit.escalated_at.is_(None),
                {"overdue": True, "escalated_at": now},
            ):
                escalated += 1
        elif await _flag(
            db,
            visit,
            "FOLLOW_UP_VISIT_REMINDER",
            parties,
            FollowUpVisit.reminded_at.is_(None),
            {"reminded_at": now},
        ):
            reminded += 1
    return reminded, escalated
