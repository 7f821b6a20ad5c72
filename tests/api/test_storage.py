"""What the database itself guarantees, on SQLite as on PostgreSQL.

The audit trail cannot be edited or erased, timestamps come back as UTC, and outbox event
ids follow commit order so a subscriber's cursor never skips a late commit.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from notifications.models import Event
from notifications.outbox import emit
from orgs import service
from orgs.models import MembershipChange
from orgs.principal import operator
from orgs.rules import MembershipAction
from store.audit import AuditEntry
from tests.network import RunningHub, backend


async def audit_rows(hub: RunningHub) -> list[tuple[object, ...]]:
    async with hub.db.read() as session:
        rows = await session.execute(
            text("SELECT id, action, subject_id, request_id FROM audit ORDER BY id")
        )
        return [tuple(r) for r in rows]


async def test_the_audit_trail_cannot_be_edited(hub: RunningHub) -> None:
    before = await audit_rows(hub)
    assert before, "the demo network leaves an audit trail"
    with pytest.raises(DBAPIError, match="append-only"):
        async with hub.db.write() as session:
            await session.execute(
                text("UPDATE audit SET action = 'forged' WHERE id = :id"), {"id": before[0][0]}
            )
    with pytest.raises(DBAPIError, match="append-only"):
        async with hub.db.write() as session:
            await session.execute(text("UPDATE audit SET request_id = 'x'"))
    assert await audit_rows(hub) == before


async def test_the_audit_trail_cannot_be_erased(hub: RunningHub) -> None:
    before = await audit_rows(hub)
    with pytest.raises(DBAPIError, match="append-only"):
        async with hub.db.write() as session:
            await session.execute(text("DELETE FROM audit WHERE id = :id"), {"id": before[-1][0]})
    with pytest.raises(DBAPIError, match="append-only"):
        async with hub.db.write() as session:
            await session.execute(text("DELETE FROM audit"))
    assert await audit_rows(hub) == before


@pytest.mark.skipif(backend() != "postgresql", reason="TRUNCATE exists on PostgreSQL only")
async def test_the_audit_trail_cannot_be_truncated(hub: RunningHub) -> None:
    before = await audit_rows(hub)
    with pytest.raises(DBAPIError, match="append-only"):
        async with hub.db.write() as session:
            await session.execute(text("TRUNCATE audit"))
    assert await audit_rows(hub) == before


async def test_the_audit_trail_still_takes_new_entries(hub: RunningHub) -> None:
    before = await hub.scalar("SELECT COUNT(*) FROM audit")
    shelter = hub.members["ccpcr-shelter"].organization_id
    await service.change_membership(
        hub.db, operator("req-storage"), shelter, MembershipAction.SUSPEND, "unpaid fees"
    )
    assert await hub.scalar("SELECT COUNT(*) FROM audit") == before + 1
    latest = await hub.scalar("SELECT request_id FROM audit ORDER BY id DESC LIMIT 1")
    assert latest == "req-storage"


def assert_utc(value: datetime) -> None:
    assert value.tzinfo is not None, "naive datetime read back"
    assert value.utcoffset() == timedelta(0)


async def test_timestamps_come_back_as_aware_utc(hub: RunningHub) -> None:
    started = datetime.now(UTC)
    shelter = hub.members["ccpcr-shelter"].organization_id
    await service.change_membership(
        hub.db, operator(), shelter, MembershipAction.SUSPEND, "inspection pending"
    )
    org = await service.get_organization(hub.db, shelter)
    assert org is not None
    assert_utc(org.created_at)
    assert_utc(org.updated_at)
    assert org.created_at <= started <= org.updated_at <= datetime.now(UTC)

    async with hub.db.read() as session:
        change = await session.scalar(
            select(MembershipChange)
            .where(MembershipChange.organization_id == shelter)
            .order_by(MembershipChange.id.desc())
            .limit(1)
        )
        event = await session.scalar(select(Event).order_by(Event.id.desc()).limit(1))
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert change is not None and event is not None and entry is not None
    for at in (change.at, event.occurred_at, entry.at):
        assert_utc(at)
        assert started <= at <= datetime.now(UTC)


async def test_event_ids_follow_the_order_of_membership_changes(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    start = await hub.scalar("SELECT MAX(id) FROM events")
    steps = [
        (MembershipAction.SUSPEND, "ORGANIZATION_SUSPENDED"),
        (MembershipAction.REINSTATE, "ORGANIZATION_REINSTATED"),
        (MembershipAction.SUSPEND, "ORGANIZATION_SUSPENDED"),
        (MembershipAction.REINSTATE, "ORGANIZATION_REINSTATED"),
        (MembershipAction.REVOKE, "MEMBERSHIP_REVOKED"),
    ]
    ids = []
    for action, _ in steps:
        await service.change_membership(hub.db, operator(), shelter, action, f"step {action}")
        ids.append(await hub.scalar("SELECT MAX(id) FROM events"))
    chain = [start, *ids]
    assert all(a < b for a, b in itertools.pairwise(chain)), chain

    async with hub.db.read() as session:
        rows = (
            await session.execute(
                text("SELECT id, type FROM events WHERE id > :start ORDER BY id"), {"start": start}
            )
        ).all()
    assert [tuple(r) for r in rows] == [(i, t) for i, (_, t) in zip(ids, steps, strict=True)]


async def test_a_later_writer_waits_for_the_earlier_commit_and_gets_a_later_id(
    hub: RunningHub,
) -> None:
    async def write_event(name: str) -> int:
        async with hub.db.write() as session:
            event = await emit(
                session,
                topic="TEST",
                type=name,
                subject_id=name,
                actor_organization_id=None,
                audience=[],
            )
            return event.id

    first_has_id = asyncio.Event()
    release_first = asyncio.Event()

    async def slow_first() -> int:
        async with hub.db.write() as session:
            event = await emit(
                session,
                topic="TEST",
                type="first",
                subject_id="first",
                actor_organization_id=None,
                audience=[],
            )
            first_has_id.set()
            await release_first.wait()
            return event.id

    first = asyncio.create_task(slow_first())
    await asyncio.wait_for(first_has_id.wait(), 10)
    second = asyncio.create_task(write_event("second"))
    try:
        await asyncio.sleep(0.3)
        assert not second.done(), "a second writer got an event id before the first committed"
    finally:
        release_first.set()
    first_id = await first
    second_id = await asyncio.wait_for(second, 20)
    assert first_id < second_id
    committed = await hub.scalar("SELECT type FROM events ORDER BY id DESC LIMIT 1")
    assert committed == "second"
