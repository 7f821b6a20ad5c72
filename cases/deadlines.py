"""Deadlines: remind, mark overdue, escalate to the coordinators, expire.

``run_deadlines(now)`` does one pass and is driven by the hub's scheduler (one process at a
time, through a lease) or, in tests, by a fake clock. Each referral's step is its own
transaction, so a crash half-way loses nothing and a re-run finds what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update

from cases.custody_deadlines import custody_deadlines
from cases.desk_rules import DeskItemKind, coordinator_may_read
from cases.intervention_deadlines import intervention_deadlines
from cases.models import Referral, RepatriationRequest
from cases.referral_rules import ReferralAction, ReferralStatus
from cases.referrals import apply_action, event_payload
from cases.reintegration_deadlines import follow_up_deadlines
from cases.repatriation import repatriation_payload
from cases.repatriation_rules import RepatriationStatus
from cases.workflow import Role
from notifications.outbox import emit
from orgs.models import Organization
from orgs.rules import MembershipStatus, OrganizationKind
from store.audit import record_audit
from store.engine import Database
from store.sealed import FieldCipher


def shows_overdue(
    marked: bool, awaiting_acknowledgement: bool, acknowledge_by: datetime, now: datetime
) -> bool:
    """Whether a referral or repatriation request reads as overdue now: marked so by the
    deadline pass, or still waiting for its acknowledgement past the deadline (the pass
    runs every few minutes; a reader must not see "on time" in between). The pass marks
    with the same comparison (``acknowledge_by <= now``). One rule for the API's
    ``overdue`` and the console's highlighting."""
    return marked or (awaiting_acknowledgement and acknowledge_by <= now)


def referral_overdue(referral: Referral, now: datetime) -> bool:
    return shows_overdue(
        referral.overdue, referral.status == ReferralStatus.SENT, referral.acknowledge_by, now
    )


def repatriation_overdue(request: RepatriationRequest, now: datetime) -> bool:
    return shows_overdue(
        request.overdue,
        request.status == RepatriationStatus.SUBMITTED,
        request.acknowledge_by,
        now,
    )


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    remind_before: timedelta = timedelta(hours=1)
    expire_after: timedelta = timedelta(hours=24)


@dataclass
class DeadlineReport:
    reminded: int = 0
    escalated: int = 0
    expired: int = 0


async def _coordinators(db: Database) -> list[str]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(Organization.id).where(
                    Organization.kind == OrganizationKind.COORDINATOR.value,
                    Organization.status == MembershipStatus.ACTIVE.value,
                )
            )
        )


Tracked = Referral | RepatriationRequest


def _with_desk_item(row: Tracked, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An escalation names what the coordinators may now read about the item."""
    if not event_type.endswith("_ESCALATED"):
        return payload
    kind = DeskItemKind.REFERRAL if isinstance(row, Referral) else DeskItemKind.REPATRIATION_REQUEST
    return {**payload, "coordinatorMayRead": coordinator_may_read(kind, row.id)}


async def _note(
    db: Database,
    row: Tracked,
    event_type: str,
    audience: list[str],
    guard: ColumnElement[bool],
    values: dict[str, object],
) -> bool:
    """Flag a referral or request and emit its event, once: the guard makes a re-run a no-op."""
    model = type(row)
    topic, subject, payload = (
        ("REFERRAL", "Referral", event_payload)
        if isinstance(row, Referral)
        else ("REPATRIATION", "RepatriationRequest", repatriation_payload)
    )
    async with db.write() as session:
        result = await session.execute(
            update(model)
            .where(model.id == row.id, guard)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        fresh: Tracked | None = await session.get(model, row.id)
        assert fresh is not None
        await emit(
            session,
            topic=topic,
            type=event_type,
            subject_id=row.id,
            actor_organization_id=None,
            audience=audience,
            payload=_with_desk_item(row, event_type, payload(fresh)),  # type: ignore[arg-type]
        )
        await record_audit(
            session,
            actor_organization_id=None,
            actor_client_id="scheduler",
            action=f"{topic.lower()}.{event_type.lower().removeprefix(topic.lower() + '_')}",
            subject_type=subject,
            subject_id=row.id,
            detail={"status": fresh.status},
        )
    return True


async def run_deadlines(
    db: Database, cipher: FieldCipher, now: datetime, policy: DeadlinePolicy | None = None
) -> DeadlineReport:
    policy = policy or DeadlinePolicy()
    report = DeadlineReport()
    coordinators = await _coordinators(db)
    async with db.read() as session:
        waiting = list(
            await session.scalars(
                select(Referral).where(
                    Referral.status.in_(
                        [ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED, ReferralStatus.ON_HOLD]
                    )
                )
            )
        )
    for referral in waiting:
        parties = [referral.sender_organization_id, referral.receiver_organization_id]
        if referral.status == ReferralStatus.SENT:
            if referral.acknowledge_by + policy.expire_after <= now:
                async with db.write() as session:
                    fresh = await session.get(Referral, referral.id)
                    if fresh is not None and fresh.status == ReferralStatus.SENT:
                        await apply_action(
                            session,
                            cipher,
                            fresh,
                            ReferralAction.EXPIRE,
                            Role.SYSTEM,
                            None,
                            None,
                            None,
                            None,
                        )
                        report.expired += 1
                continue
            if referral.acknowledge_by <= now:
                if await _note(
                    db,
                    referral,
                    "REFERRAL_ESCALATED",
                    [*parties, *coordinators],
                    Referral.escalated_at.is_(None),
                    {"overdue": True, "escalated_at": now},
                ):
                    report.escalated += 1
                continue
            if referral.acknowledge_by - policy.remind_before <= now and await _note(
                db,
                referral,
                "REFERRAL_REMINDER",
                [referral.receiver_organization_id],
                Referral.reminded_at.is_(None),
                {"reminded_at": now},
            ):
                report.reminded += 1
            continue
        # Acknowledged or on hold: the receiver owes an answer by respond_by.
        if referral.respond_by <= now and await _note(
            db,
            referral,
            "REFERRAL_ESCALATED",
            [*parties, *coordinators],
            Referral.overdue.is_(False),
            {"overdue": True, "escalated_at": now},
        ):
            report.escalated += 1
    await _repatriation_deadlines(db, now, policy, coordinators, report)
    await intervention_deadlines(db, now, policy.remind_before, coordinators, report)
    await custody_deadlines(db, now, report)
    reminded, escalated = await follow_up_deadlines(db, now, coordinators)
    report.reminded += reminded
    report.escalated += escalated
    return report


async def _repatriation_deadlines(
    db: Database,
    now: datetime,
    policy: DeadlinePolicy,
    coordinators: list[str],
    report: DeadlineReport,
) -> None:
    """An embassy that has not acknowledged: reminded, then overdue and escalated."""
    async with db.read() as session:
        waiting = list(
            await session.scalars(
                select(RepatriationRequest).where(
                    RepatriationRequest.status == RepatriationStatus.SUBMITTED.value
                )
            )
        )
    for request in waiting:
        parties = sorted({request.requester_organization_id, request.embassy_organization_id})
        if request.acknowledge_by <= now:
            if await _note(
                db,
                request,
                "REPATRIATION_ESCALATED",
                [*parties, *coordinators],
                RepatriationRequest.escalated_at.is_(None),
                {"overdue": True, "escalated_at": now},
            ):
                report.escalated += 1
        elif request.acknowledge_by - policy.remind_before <= now and await _note(
            db,
            request,
            "REPATRIATION_REMINDER",
            [request.embassy_organization_id],
            RepatriationRequest.reminded_at.is_(None),
            {"reminded_at": now},
        ):
            report.reminded += 1
