"""A group repatriation: survivors of one incident brought home together, by one embassy to
one reception organisation, on one travel plan, each under her own consent.

Each survivor gets her own repatriation request (the same table, consent holds, deadlines
and history as any other), linked to the group repatriation. A survivor whose consent does
not cover the embassy and the reception organisation is refused on her own; the others go
ahead. Each survivor's request is its own transaction, keyed by the group's idempotency key
and her case: a retry after a crash finishes what is left and repeats nothing.

A survivor held back is recorded on the group repatriation (her case id, a code and a reason
code: nothing about her), so that every party sees on the group view that she is held and
why, without any of her fields; a retry that brings her in removes the record. The travel
plan is still recorded on each survivor's own request (sealed in her row, released by her
own consent): a route or escort may name her, so no copy is sealed under the hub key alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.group_models import (
    GroupRepatriation,
    GroupRepatriationHeld,
    GroupRepatriationMember,
    IncidentGroupCase,
    IncidentGroupMember,
)
from cases.groups import load_group
from cases.models import Case, RepatriationRequest
from cases.paging import check_idempotency_key, fingerprint
from cases.referral_rules import Urgency
from cases.repatriation import NewRepatriation, TravelPlan, record_travel_plan, request_repatriation
from cases.repatriation_rules import REPATRIATION_WORKFLOW, Assistance, DocumentHeld, Situation
from consent.rules import DataCategory
from notifications.outbox import emit
from orgs.principal import Principal
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

MAX_SURVIVORS = 100

# Why a survivor is held back, by the refusal's code: codes only, never her data.
HELD_REASONS: dict[ErrorCode, str] = {
    ErrorCode.CONSENT_REQUIRED: "CONSENT_DOES_NOT_COVER_PARTIES",
}


@dataclass(frozen=True, slots=True)
class NewGroupRepatriation:
    group_id: str
    embassy_id: str
    reception_organization_id: str
    current_country: str
    situation: Situation
    documents_held: Sequence[DocumentHeld]
    assistance_needed: Sequence[Assistance]
    urgency: Urgency
    idempotency_key: str
    case_ids: Sequence[str] | None = None
    acknowledge_by: datetime | None = None
    notes: str | None = None
    notes_category: DataCategory | None = None


@dataclass(frozen=True, slots=True)
class RefusedCase:
    case_id: str
    code: str
    reason: str


@dataclass
class GroupRepatriationResult:
    group_repatriation: GroupRepatriation
    requests: list[RepatriationRequest] = field(default_factory=list)
    refused: list[RefusedCase] = field(default_factory=list)


def _member_key(key: str, case_id: str) -> str:
    # The group key and the case: each survivor's request is idempotent on its own.
    return f"g:{fingerprint([key, case_id])[:40]}"


async def _own_cases_in_group(
    session: AsyncSession, group_id: str, owner: str, wanted: Sequence[str] | None
) -> list[str]:
    rows = await session.scalars(
        select(IncidentGroupCase.case_id)
        .join(Case, Case.id == IncidentGroupCase.case_id)
        .where(IncidentGroupCase.group_id == group_id, Case.owner_organization_id == owner)
        .order_by(IncidentGroupCase.added_at, IncidentGroupCase.case_id)
    )
    own = list(rows)
    if wanted is None:
        return own
    missing = sorted(set(wanted) - set(own))
    if missing:
        # Not "yours in this group": indistinguishable from a case that does not exist.
        raise not_found("case in this group")
    return [c for c in own if c in set(wanted)]


async def _outing_by_key(
    session: AsyncSession, requester: str, key: str
) -> GroupRepatriation | None:
    found: GroupRepatriation | None = await session.scalar(
        select(GroupRepatriation).where(
            GroupRepatriation.requester_organization_id == requester,
            GroupRepatriation.idempotency_key == key,
        )
    )
    return found


async def request_group_repatriation(
    db: Database, actor: Principal, cipher: FieldCipher, new: NewGroupRepatriation
) -> GroupRepatriationResult:
    """One group repatriation of the actor's own cases in the group (or those named).

    The group repatriation itself is written with its first survivor's request, in that
    request's transaction: when nobody's consent allows it, nothing at all is written."""
    requester = actor.organization_id
    if requester is None:
        raise HubError(ErrorCode.FORBIDDEN, "requests are made by member organisations")
    key = check_idempotency_key(new.idempotency_key)
    digest = fingerprint(
        [
            new.group_id,
            new.embassy_id,
            new.reception_organization_id,
            sorted(new.case_ids) if new.case_ids is not None else None,
        ]
    )
    async with db.read() as session:
        group = await load_group(session, actor, new.group_id)
        case_ids = await _own_cases_in_group(session, group.id, requester, new.case_ids)
        earlier = await _outing_by_key(session, requester, key)
    if not case_ids:
        raise HubError(ErrorCode.BAD_USER_INPUT, "none of the caller's cases is in this group")
    if len(case_ids) > MAX_SURVIVORS:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"at most {MAX_SURVIVORS} survivors at once")
    if earlier is not None and earlier.request_fingerprint != digest:
        raise HubError(ErrorCode.CONFLICT, "idempotencyKey was used for another request")

    async def outing_in(session: AsyncSession, request: RepatriationRequest) -> GroupRepatriation:
        """The group repatriation, created with the first survivor's request."""
        found = await _outing_by_key(session, requester, key)
        if found is not None:
            return found
        now = utcnow()
        outing = GroupRepatriation(
            id=str(uuid.uuid4()),
            group_id=group.id,
            requester_organization_id=requester,
            embassy_organization_id=request.embassy_organization_id,
            reception_organization_id=request.reception_organization_id,
            idempotency_key=key,
            request_fingerprint=digest,
            created_at=now,
        )
        session.add(outing)
        await session.flush()
        await emit(
            session,
            topic="REPATRIATION",
            type="GROUP_REPATRIATION_REQUESTED",
            subject_id=outing.id,
            actor_organization_id=requester,
            audience=sorted(
                {requester, outing.embassy_organization_id, outing.reception_organization_id}
            ),
            payload={"groupRepatriationId": outing.id, "groupId": group.id},
        )
        await record_audit(
            session,
            actor_organization_id=requester,
            actor_client_id=actor.client_id,
            action="group.repatriation",
            subject_type="GroupRepatriation",
            subject_id=outing.id,
            detail={"groupId": group.id, "cases": len(case_ids)},
            request_id=actor.request_id,
        )
        return outing

    async def link(session: AsyncSession, request: RepatriationRequest) -> None:
        outing = await outing_in(session, request)
        session.add(GroupRepatriationMember(group_repatriation_id=outing.id, request_id=request.id))
        for org_id in (request.embassy_organization_id, request.reception_organization_id):
            # The embassy and the reception see the group (its metadata, not its cases).
            if await session.get(IncidentGroupMember, (group.id, org_id)) is None:
                session.add(
                    IncidentGroupMember(
                        group_id=group.id, organization_id=org_id, added_at=utcnow()
                    )
                )
        await session.flush()

    requests: list[RepatriationRequest] = []
    refused: list[RefusedCase] = []
    for case_id in case_ids:
        one = NewRepatriation(
            case_id=case_id,
            embassy_id=new.embassy_id,
            reception_organization_id=new.reception_organization_id,
            current_country=new.current_country,
            situation=new.situation,
            documents_held=new.documents_held,
            assistance_needed=new.assistance_needed,
            urgency=new.urgency,
            idempotency_key=_member_key(key, case_id),
            acknowledge_by=new.acknowledge_by,
            notes=new.notes,
            notes_category=new.notes_category,
        )
        try:
            requests.append(await request_repatriation(db, actor, cipher, one, link))
        except HubError as refusal:
            # Her own consent decides for her alone; anything else is the request's fault.
            if refusal.code is not ErrorCode.CONSENT_REQUIRED:
                raise
            refused.append(RefusedCase(case_id, refusal.code.value, refusal.message))
    async with db.read() as session:
        outing = await _outing_by_key(session, requester, key)
    if outing is None:
        raise HubError(
            ErrorCode.CONSENT_REQUIRED,
            "no survivor's consent covers the embassy and the reception organisation",
        )
    await _record_held(db, actor, outing, refused, [r.case_id for r in requests])
    return GroupRepatriationResult(outing, requests, refused)


async def _record_held(
    db: Database,
    actor: Principal,
    outing: GroupRepatriation,
    refused: Sequence[RefusedCase],
    gone: Sequence[str],
) -> None:
    """Who is held back now, in one transaction: new holds recorded, holds of survivors who
    have since gone ahead removed, with an event and an audit entry when anything changed."""
    async with db.write() as session:
        rows = await session.scalars(
            select(GroupRepatriationHeld).where(
                GroupRepatriationHeld.group_repatriation_id == outing.id
            )
        )
        earlier = {row.case_id for row in rows}
        added = [r for r in refused if r.case_id not in earlier]
        released = sorted(earlier & set(gone))
        if not added and not released:
            return
        now = utcnow()
        for r in added:
            session.add(
                GroupRepatriationHeld(
                    group_repatriation_id=outing.id,
                    case_id=r.case_id,
                    code=r.code,
                    reason=HELD_REASONS[ErrorCode(r.code)],
                    held_at=now,
                )
            )
        if released:
            await session.execute(
                delete(GroupRepatriationHeld).where(
                    GroupRepatriationHeld.group_repatriation_id == outing.id,
                    GroupRepatriationHeld.case_id.in_(released),
                )
            )
        await session.flush()
        counts = {"held": len(added), "released": len(released)}
        await emit(
            session,
            topic="REPATRIATION",
            type="GROUP_REPATRIATION_HELD_CHANGED",
            subject_id=outing.id,
            actor_organization_id=outing.requester_organization_id,
            audience=sorted(
                {
                    outing.requester_organization_id,
                    outing.embassy_organization_id,
                    outing.reception_organization_id,
                }
            ),
            payload={"groupRepatriationId": outing.id, **counts},
        )
        await record_audit(
            session,
            actor_organization_id=outing.requester_organization_id,
            actor_client_id=actor.client_id,
            action="group.repatriation.held",
            subject_type="GroupRepatriation",
            subject_id=outing.id,
            detail=counts,
            request_id=actor.request_id,
        )


async def held_members(db: Database, outing_id: str) -> list[GroupRepatriationHeld]:
    """The survivors held back, oldest first: the caller has already loaded the outing."""
    async with db.read() as session:
        return list(
            await session.scalars(
                select(GroupRepatriationHeld)
                .where(GroupRepatriationHeld.group_repatriation_id == outing_id)
                .order_by(GroupRepatriationHeld.held_at, GroupRepatriationHeld.case_id)
            )
        )


async def load_outing(session: AsyncSession, actor: Principal, outing_id: str) -> GroupRepatriation:
    outing = await session.get(GroupRepatriation, outing_id)
    if outing is None or actor.organization_id not in {
        outing.requester_organization_id,
        outing.embassy_organization_id,
        outing.reception_organization_id,
    }:
        raise not_found("group repatriation")
    return outing


async def member_requests(db: Database, outing_id: str) -> list[RepatriationRequest]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(RepatriationRequest)
                .join(
                    GroupRepatriationMember,
                    GroupRepatriationMember.request_id == RepatriationRequest.id,
                )
                .where(GroupRepatriationMember.group_repatriation_id == outing_id)
                .order_by(RepatriationRequest.created_at, RepatriationRequest.id)
            )
        )


async def get_outing(db: Database, actor: Principal, outing_id: str) -> GroupRepatriation:
    if not actor.has("repatriation:read"):
        raise not_found("group repatriation")
    async with db.read() as session:
        return await load_outing(session, actor, outing_id)


async def record_group_travel_plan(
    db: Database, actor: Principal, cipher: FieldCipher, outing_id: str, plan: TravelPlan
) -> list[RepatriationRequest]:
    """One travel plan for every survivor still travelling: each request records it (sealed
    in its own row, released by her own consent), one transaction per survivor."""
    async with db.read() as session:
        await load_outing(session, actor, outing_id)
    done = []
    for request in await member_requests(db, outing_id):
        if request.status in REPATRIATION_WORKFLOW.final:
            continue
        done.append(await record_travel_plan(db, actor, cipher, request.id, plan, None))
    return done
