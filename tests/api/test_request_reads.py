"""A request's one read transaction: opened at first use, shared, ended on every path.

Against the hub's real database (SQLite file or PostgreSQL, as the run is configured),
through an engine of the test's own, so the hub's background work (the event pump's poll)
never shows in its transaction tracker, which says how many units of work are open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from store.engine import Database
from store.reads import RequestReads, reads_of
from tests.network import RunningHub


@pytest.fixture
async def db(hub: RunningHub) -> AsyncIterator[Database]:
    database = Database(hub.settings.database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def test_uses_share_one_transaction_until_closed(db: Database) -> None:
    reads = RequestReads(db)
    assert reads.transactions == 0  # nothing opened before the first use
    async with reads.session() as first:
        await first.execute(text("SELECT 1"))
    async with reads.session() as second:
        await second.execute(text("SELECT 1"))
    assert first is second and reads.transactions == 1
    assert len(db.watchdog.held) == 1
    await reads.close()
    assert len(db.watchdog.held) == 0


async def test_concurrent_field_tasks_take_turns_on_the_session(db: Database) -> None:
    reads = RequestReads(db)

    async def read(n: int) -> int:
        async with reads.session() as session:
            value = await session.scalar(text(f"SELECT {n}"))
            return int(value)

    assert await asyncio.gather(*(read(n) for n in range(20))) == list(range(20))
    assert reads.transactions == 1
    await reads.close()
    assert len(db.watchdog.held) == 0


async def test_a_failed_statement_ends_the_transaction_and_the_next_use_starts_clean(
    db: Database,
) -> None:
    reads = RequestReads(db)
    with pytest.raises(Exception, match="no_such_table"):
        async with reads.session() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    assert len(db.watchdog.held) == 0  # rolled back and returned at once
    async with reads.session() as session:
        assert await session.scalar(text("SELECT 7")) == 7
    assert reads.transactions == 2
    await reads.close()
    assert len(db.watchdog.held) == 0


async def test_a_cancelled_reader_leaves_no_transaction_open(db: Database) -> None:
    reads = RequestReads(db)
    entered = asyncio.Event()

    async def slow_reader() -> None:
        async with reads.session() as session:
            await session.execute(text("SELECT 1"))
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(slow_reader())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(db.watchdog.held) == 0
    await reads.close()


async def test_after_close_every_use_is_a_transaction_of_its_own(db: Database) -> None:
    reads = RequestReads(db)
    async with reads.session() as session:
        await session.execute(text("SELECT 1"))
    await reads.close()
    async with reads.session() as late:
        assert await late.scalar(text("SELECT 2")) == 2
        assert len(db.watchdog.held) == 1
    assert len(db.watchdog.held) == 0
    assert reads.transactions == 1  # the late use did not reopen the shared one
    standalone = reads_of(db, None)
    async with standalone.session() as own:
        assert await own.scalar(text("SELECT 3")) == 3
    assert len(db.watchdog.held) == 0
