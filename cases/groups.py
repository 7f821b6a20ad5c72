"""Incident groups: survivors of one incident (a fishing boat, a compound) linked, each case
by its owner. Members of a group see that it exists, its kind and country, and how many
cases it holds; a case in it only through the one case filter (owner, party, consent).
Every change is one transaction with its event and audit entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.group_models import IncidentGroup, IncidentGroupCase, IncidentGroupMember
from cases.group_rules import MAX_MEMBERS, IncidentKind, may_add_case, sees_group
from cases.models import Case
from cases.paging import (
    after_cursor,
    check_idempotency_key,
    check_page_size,
    fingerprint,
    once,
)
from cases.service import load_visible_case, new_reference
from notifications.outbox import emit
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus, check_country
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.types import utcnow

READ_SCOPE = "cases:read"


@dataclass(frozen=True, slots=True)
class NewGroup:
    kind: IncidentKind
    country: str
    member_organization_ids: Sequence[str]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group as a member sees it: metadata, members, and its case ids (to be filtered)."""

    group: IncidentGroup
    members: list[str]
    case_ids: list[str]


def group_payload(group: IncidentGroup) -> dict[str, object]:
    return {"groupId": group.id, "kind": group.kind, "country": group.country}


async def members_of(session: AsyncSession, group_id: str) -> frozenset[str]:
    rows = await session.scalars(
        select(IncidentGroupMember.organization_id).where(IncidentGroupMember.group_id == group_id)
    )
    return frozenset(rows)


async def load_group(session: AsyncSession, actor: Principal, group_id: str) -> IncidentGroup:
    """The group if the actor's organisation is a member; NOT_FOUND otherwise."""
    group = await session.get(IncidentGroup, group_id)
    if group is None or not sees_group(actor.organization_id, await members_of(session, group_id)):
        raise not_found("incident group")
    return group


async def _existing(session: AsyncSession, creator: str, key: str) -> IncidentGroup | None:
    found: IncidentGroup | None = await session.scalar(
        select(IncidentGroup).where(
            IncidentGroup.created_by_organization_id == creator,
            IncidentGroup.idempotency_key == key,
        )
    )
    return found


async def create_group(db: Database, actor: Principal, new: NewGroup) -> IncidentGroup:
    """A new group, its creator and the named organisations its members. Idempotent by key."""
    creator = actor.organization_id
    if creator is None:
        raise HubError(ErrorCode.FORBIDDEN, "groups are made by member organisations")
    key = check_idempotency_key(new.idempotency_key)
    country = check_country(new.country)
    named = sorted(set(new.member_organization_ids) - {creator})
    if len(named) > MAX_MEMBERS:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"at most {MAX_MEMBERS} member organisations")
    digest = fingerprint([new.kind.value, country, named])

    async def create() -> IncidentGroup:
        now = utcnow()
        async with db.write() as session:
            if named:
                rows = await session.execute(
                    select(Organization.id, Organization.status).where(Organization.id.in_(named))
                )
                active = {oid for oid, status in rows if status == MembershipStatus.ACTIVE}
                if set(named) - active:
                    raise HubError(
                        ErrorCode.BAD_USER_INPUT, "member organisations must be active members"
                    )
            group = IncidentGroup(
                id=str(uuid.uuid4()),
                reference=new_reference().replace("RH-", "GR-"),
                kind=new.kind.value,
                country=country,
                created_by_organization_id=creator,
                idempotency_key=key,
                request_fingerprint=digest,
                created_at=now,
            )
            session.add(group)
            await session.flush()
            for org_id in [creator, *named]:
                session.add(
                    IncidentGroupMember(group_id=group.id, organization_id=org_id, added_at=now)
                )
            await emit(
                session,
                topic="REPATRIATION",
                type="GROUP_CREATED",
                subject_id=group.id,
                actor_organization_id=creator,
                audience=[creator, *named],
                payload=group_payload(group),
            )
            await record_audit(
                session,
                actor_organization_id=creator,
                actor_client_id=actor.client_id,
                action="group.create",
                subject_type="IncidentGroup",
                subject_id=group.id,
                detail={"kind": group.kind, "country": country, "members": named},
                request_id=actor.request_id,
            )
        return group

    return await once(
        db, lambda session: _existing(session, creator, key), create, digest, "incident group"
    )


async def add_case(db: Database, actor: Principal, group_id: str, case_id: str) -> IncidentGroup:
    """The case's owner links it to a group it is a member of."""
    now = utcnow()
    async with db.write() as session:
        group = await load_group(session, actor, group_id)
        members = await members_of(session, group.id)
        case = await load_visible_case(session, actor, case_id)
        refusal = may_add_case(actor.organization_id, members, case.owner_organization_id)
        if refusal == "FORBIDDEN":
            raise HubError(
                ErrorCode.FORBIDDEN, "only the organisation that owns the case may do this"
            )
        if await session.get(IncidentGroupCase, (group.id, case.id)) is not None:
            raise HubError(ErrorCode.CONFLICT, "the case is already in this group")
        session.add(
            IncidentGroupCase(
                group_id=group.id,
                case_id=case.id,
                added_by_organization_id=case.owner_organization_id,
                added_at=now,
            )
        )
        await session.flush()
        await emit(
            session,
            topic="REPATRIATION",
            type="GROUP_CASE_ADDED",
            subject_id=group.id,
            actor_organization_id=actor.organization_id,
            audience=sorted(members),
            # The case id goes only to the owner's own record (audit), not to every member.
            payload=group_payload(group),
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="group.add_case",
            subject_type="IncidentGroup",
            subject_id=group.id,
            detail={"caseId": case.id},
            request_id=actor.request_id,
        )
    return group


async def view_groups(session: AsyncSession, groups: Sequence[IncidentGroup]) -> list[GroupView]:
    ids = [g.id for g in groups]
    members: dict[str, list[str]] = {i: [] for i in ids}
    cases: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for gid, org_id in await session.execute(
            select(IncidentGroupMember.group_id, IncidentGroupMember.organization_id)
            .where(IncidentGroupMember.group_id.in_(ids))
            .order_by(IncidentGroupMember.added_at, IncidentGroupMember.organization_id)
        ):
            members[gid].append(org_id)
        for gid, cid in await session.execute(
            select(IncidentGroupCase.group_id, IncidentGroupCase.case_id)
            .join(Case, Case.id == IncidentGroupCase.case_id)
            .where(IncidentGroupCase.group_id.in_(ids))
            .order_by(IncidentGroupCase.added_at, IncidentGroupCase.case_id)
        ):
            cases[gid].append(cid)
    return [GroupView(g, members[g.id], cases[g.id]) for g in groups]


async def get_group(db: Database, actor: Principal, group_id: str) -> GroupView:
    if not actor.has(READ_SCOPE):
        raise not_found("incident group")
    async with db.read() as session:
        group = await load_group(session, actor, group_id)
        return (await view_groups(session, [group]))[0]


async def list_groups(
    db: Database, actor: Principal, first: int, after: str | None
) -> tuple[list[GroupView], bool]:
    check_page_size(first)
    if not actor.has(READ_SCOPE) or actor.organization_id is None:
        return [], False
    mine = (
        select(IncidentGroupMember.group_id)
        .where(IncidentGroupMember.organization_id == actor.organization_id)
        .scalar_subquery()
    )
    query = (
        select(IncidentGroup)
        .where(IncidentGroup.id.in_(mine))
        .order_by(IncidentGroup.created_at.desc(), IncidentGroup.id.desc())
        .limit(first + 1)
    )
    if after:
        query = query.where(after_cursor(after, IncidentGroup.created_at, IncidentGroup.id))
    async with db.read() as session:
        rows = list(await session.scalars(query))
        views = await view_groups(session, rows[:first])
    return views, len(rows) > first
