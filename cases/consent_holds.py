"""Open hand-overs follow the survivor's consent: when it stops covering a referral or a
repatriation request, the hub puts it ON_HOLD; when a new consent covers it, the hub lets it
go back to where it was. Both run inside the consent change's own transaction, each move
with its history row, its event to every side and its audit entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.access import load_grants
from cases.models import Referral, ReferralChange, RepatriationChange, RepatriationRequest
from cases.referral_rules import HELD_FROM as REFERRAL_HELD_FROM
from cases.referral_rules import OPEN, REFERRAL_WORKFLOW, ReferralAction
from cases.referrals import event_payload
from cases.repatriation import repatriation_payload
from cases.repatriation_rules import ACTIVE, REPATRIATION_WORKFLOW, RepatriationAction
from cases.repatriation_rules import RepatriationStatus as RS
from cases.workflow import Role
from consent.rules import Grant, Purpose, Recipient, covers
from notifications.outbox import emit
from orgs.models import Organization
from store.audit import record_audit


@dataclass(frozen=True, slots=True)
class ConsentActor:
    """Who changed the consent: the holds and resumptions are recorded in their name."""

    organization_id: str | None  # None: the hub's own clock (a grant lapsed or began)
    client_id: str | None
    request_id: str | None


async def _kinds(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    rows = await session.execute(
        select(Organization.id, Organization.kind).where(Organization.id.in_(sorted(ids)))
    )
    return {oid: kind for oid, kind in rows}


def _covered(
    grants: list[Grant], kinds: dict[str, str], orgs: list[str], purpose: Purpose, at: datetime
) -> bool:
    return all(covers(grants, Recipient(o, kinds.get(o, "")), purpose, at) for o in orgs)


async def follow_consent(
    session: AsyncSession, case_id: str, actor: ConsentActor, now: datetime
) -> None:
    """Hold what the case's consent no longer covers; resume what it covers again."""
    grants = (await load_grants(session, [case_id])).get(case_id, [])
    referrals = list(
        await session.scalars(
            select(Referral).where(
                Referral.case_id == case_id, Referral.status.in_([s.value for s in OPEN])
            )
        )
    )
    requests = list(
        await session.scalars(
            select(RepatriationRequest).where(
                RepatriationRequest.case_id == case_id,
                RepatriationRequest.status.in_([*(s.value for s in ACTIVE), RS.ON_HOLD.value]),
            )
        )
    )
    ids = {r.receiver_organization_id for r in referrals}
    for q in requests:
        ids |= {q.embassy_organization_id, q.reception_organization_id}
    kinds = await _kinds(session, ids) if ids else {}
    for referral in referrals:
        ok = _covered(
            grants, kinds, [referral.receiver_organization_id], Purpose(referral.purpose), now
        )
        if ok == referral.held_for_consent:
            await _move_referral(session, referral, ok, actor, now)
    for request in requests:
        orgs = [request.embassy_organization_id, request.reception_organization_id]
        ok = _covered(grants, kinds, orgs, Purpose.REPATRIATION, now)
        if ok == request.held_for_consent:
            await _move_request(session, request, ok, actor, now)


async def _move_referral(
    session: AsyncSession, referral: Referral, resume: bool, actor: ConsentActor, now: datetime
) -> None:
    action = ReferralAction.CONSENT_RESUME if resume else ReferralAction.CONSENT_HOLD
    step = REFERRAL_WORKFLOW.next_state(referral.status, action, Role.SYSTEM)
    previous = referral.status
    if resume:
        target = referral.held_from or previous
        values: dict[str, object] = {"held_from": None, "held_for_consent": False}
    else:
        target = step.target
        values = {"held_from": previous, "held_for_consent": True, "overdue": False}
    assert target != REFERRAL_HELD_FROM
    version = referral.version + 1
    values.update(status=target, version=version, updated_at=now)
    await session.execute(
        update(Referral)
        .where(Referral.id == referral.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.add(
        ReferralChange(
            id=str(uuid.uuid4()),
            referral_id=referral.id,
            action=action.value,
            from_status=previous,
            to_status=target,
            by_organization_id=None,
            at=now,
            version=version,
        )
    )
    await session.refresh(referral)
    kind = "REFERRAL_CONSENT_RESUMED" if resume else "REFERRAL_HELD_FOR_CONSENT"
    await emit(
        session,
        topic="REFERRAL",
        type=kind,
        subject_id=referral.id,
        actor_organization_id=actor.organization_id,
        audience=[referral.sender_organization_id, referral.receiver_organization_id],
        payload=event_payload(referral),
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=f"referral.{action.value.lower()}",
        subject_type="Referral",
        subject_id=referral.id,
        detail={"from": previous, "to": target},
        request_id=actor.request_id,
    )


async def _move_request(
    session: AsyncSession,
    request: RepatriationRequest,
    resume: bool,
    actor: ConsentActor,
    now: datetime,
) -> None:
    action = RepatriationAction.CONSENT_RESUME if resume else RepatriationAction.CONSENT_HOLD
    REPATRIATION_WORKFLOW.next_state(request.status, action, Role.SYSTEM)
    previous = request.status
    values: dict[str, object] = {"held_for_consent": not resume}
    if resume:
        # Back where the hub found it: if a party had it on hold already, it stays so.
        last = await session.scalar(
            select(RepatriationChange.action).where(
                RepatriationChange.request_id == request.id,
                RepatriationChange.version == request.version,
            )
        )
        held_by_hub = last == RepatriationAction.CONSENT_HOLD.value
        target = (request.held_from or RS.ACKNOWLEDGED.value) if held_by_hub else previous
        if target != previous:
            values["held_from"] = None
    else:
        target = RS.ON_HOLD.value
        if previous != RS.ON_HOLD:
            values["held_from"] = previous
    moved = target != previous
    if moved:
        values.update(status=target, version=request.version + 1, updated_at=now)
        if target == RS.SUBMITTED:
            values["overdue"] = request.acknowledge_by <= now
    await session.execute(
        update(RepatriationRequest)
        .where(RepatriationRequest.id == request.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved:
        session.add(
            RepatriationChange(
                id=str(uuid.uuid4()),
                request_id=request.id,
                action=action.value,
                from_status=previous,
                to_status=target,
                by_organization_id=None,
                at=now,
                version=request.version + 1,
            )
        )
    await session.refresh(request)
    kind = "REPATRIATION_CONSENT_RESUMED" if resume else "REPATRIATION_HELD_FOR_CONSENT"
    await emit(
        session,
        topic="REPATRIATION",
        type=kind,
        subject_id=request.id,
        actor_organization_id=actor.organization_id,
        audience=sorted(
            {
                request.requester_organization_id,
                request.embassy_organization_id,
                request.reception_organization_id,
            }
        ),
        payload=repatriation_payload(request),
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=f"repatriation.{action.value.lower()}",
        subject_type="RepatriationRequest",
        subject_id=request.id,
        detail={"from": previous, "to": target},
        request_id=actor.request_id,
    )
