"""The embassy's acknowledgement of an intervention request is owed like a repatriation
request's: reminded before it is due, then overdue and escalated to the coordinators.
One pass, run by ``cases.deadlines.run_deadlines``; each flag is its own transaction and
happens once (the guard makes a re-run a no-op)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, select, update

from cases.desk_rules import DeskItemKind, coordinator_may_read
from cases.intervention_models import InterventionRequest
from cases.intervention_rules import InterventionStatus
from cases.interventions import intervention_payload
from notifications.outbox import emit
from store.audit import record_audit
from store.engine import Database


class Report(Protocol):
    reminded: int
    escalated: int


async def _flag(
    db: Database,
    request: InterventionRequest,
    event_type: str,
    audience: list[str],
    guard: ColumnElement[bool],
    values: dict[str, object],
) -> bool:
    async with db.write() as session:
        result = await session.execute(
            update(InterventionRequest)
            .where(InterventionRequest.id == request.id, guard)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        fresh = await session.get(InterventionRequest, request.id)
        assert fresh is not None
        await emit(
            session,
            topic="REPATRIATION",
            type=event_type,
            subject_id=request.id,
            actor_organization_id=None,
            audience=audience,
            payload=intervention_payload(fresh)
            | (
                {
                    "coordinatorMayRead": coordinator_may_read(
                        DeskItemKind.INTERVENTION_REQUEST, request.id
                    )
                }
                if event_type.endswith("_ESCALATED")
                else {}
            ),
        )
        await record_audit(
            session,
            actor_organization_id=None,
            actor_client_id="scheduler",
            action=f"intervention.{event_type.lower().removeprefix('intervention_')}",
            subject_type="InterventionRequest",
            subject_id=request.id,
            detail={"status": fresh.status},
        )
    return True


async def intervention_deadlines(
    db: Database,
    now: datetime,
    remind_before: timedelta,
    coordinators: list[str],
    report: Report,
) -> None:
    """An embassy that has not acknowledged: reminded, then overdue and escalated."""
    async with db.read() as session:
        waiting = list(
            await session.scalars(
                select(InterventionRequest).where(
                    InterventionRequest.status == InterventionStatus.SUBMITTED.value
                )
            )
        )
    for request in waiting:
        parties = sorted({request.requester_organization_id, request.embassy_organization_id})
        if request.acknowledge_by <= now:
            if await _flag(
                db,
                request,
                "INTERVENTION_ESCALATED",
                [*parties, *coordinators],
                InterventionRequest.escalated_at.is_(None),
                {"overdue": True, "escalated_at": now},
            ):
                report.escalated += 1
        elif request.acknowledge_by - remind_before <= now and await _flag(
            db,
            request,
            "INTERVENTION_REMINDER",
            [request.embassy_organization_id],
            InterventionRequest.reminded_at.is_(None),
            {"reminded_at": now},
        ):
            report.reminded += 1
