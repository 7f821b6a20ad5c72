"""A statement is one trip to aiosqlite's thread, and a connection goes back to SQLite's pool
with no transaction open, without a wasted trip when its transaction already ended (a
ROLLBACK after every COMMIT cost one on every transaction of the hub)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text

from store.engine import Database


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    async with database.write() as session:
        await session.execute(text("CREATE TABLE note (n INTEGER)"))
    yield database
    await database.dispose()


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every ROLLBACK the driver is asked for, with whether a transaction was open."""
    seen: list[bool] = []
    original = aiosqlite.Connection.rollback

    async def rollback(self: aiosqlite.Connection) -> None:
        seen.append(self.in_transaction)
        await original(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", rollback)
    return seen


async def test_committed_and_read_transactions_return_without_a_rollback(
    db: Database, rollbacks: list[bool]
) -> None:
    async with db.write() as session:
        await session.execute(text("INSERT INTO note VALUES (1)"))
    async with db.read() as session:
        assert (await session.scalar(text("SELECT count(*) FROM note"))) == 1
    assert rollbacks == []


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(
    db: Database, rollbacks: list[bool]
) -> None:
    # A transaction the pool's owner never ended (opened behind SQLAlchemy's back).
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, aiosqlite.Connection)
        await driver.execute("BEGIN IMMEDIATE")
        await driver.execute("INSERT INTO note VALUES (2)")
    assert rollbacks == [True]
    # Its write lock is gone and its row with it: the next write goes straight through.
    async with db.write() as session:
        await session.execute(text("INSERT INTO note VALUES (3)"))
    async with db.read() as session:
        assert list(await session.scalars(text("SELECT n FROM note"))) == [3]


async def test_a_failed_write_is_rolled_back_by_its_unit_of_work(
    db: Database, rollbacks: list[bool]
) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await session.execute(text("INSERT INTO note VALUES (4)"))
            raise RuntimeError("refused half-way")
    assert rollbacks == [True]
    async with db.read() as session:
        assert (await session.scalar(text("SELECT count(*) FROM note"))) == 0


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call queued to aiosqlite's thread, by name."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def execute(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", type(fn).__name__))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", execute)
    return seen


async def test_a_statement_is_one_trip_to_the_driver_thread_with_the_driver_s_results(
    db: Database, trips: list[str]
) -> None:
    async with db.write() as session:
        trips.clear()
        inserted = await session.execute(text("INSERT INTO note VALUES (:n)"), [{"n": 5}, {"n": 6}])
        assert inserted.rowcount == 2
        one = await session.execute(text("INSERT INTO note VALUES (7)"))
        assert one.lastrowid == 3 and one.rowcount == 1
        rows = await session.execute(text("SELECT n FROM note ORDER BY n"))
        assert [r.n for r in rows] == [5, 6, 7]
        # One trip per statement; BEGIN IMMEDIATE (store/engine.py) went with the first.
        assert trips == ["_run", "_run", "_run"]
    async with db.read() as session:
        empty = await session.execute(text("SELECT n FROM note WHERE n > 100"))
        assert empty.all() == [] and list(empty.keys()) == ["n"]


async def test_a_failing_statement_raises_the_driver_s_error_and_changes_nothing(
    db: Database,
) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    async with db.write() as session:
        await session.execute(text("CREATE UNIQUE INDEX one_n ON note (n)"))
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await session.execute(text("INSERT INTO note VALUES (8)"))
            await session.execute(text("INSERT INTO note VALUES (8)"))
    with pytest.raises(OperationalError):
        async with db.read() as session:
            await session.execute(text("SELECT nothing FROM nowhere"))
    async with db.read() as session:
        assert (await session.scalar(text("SELECT count(*) FROM note"))) == 0


async def _cancelled_after(db: Database, turns: int, write: bool) -> None:
    """A unit of work whose task is cancelled after ``turns`` turns of the event loop, as
    graphql-core cancels sibling field tasks and as a client's disconnect does."""

    async def unit() -> None:
        async with db.write() if write else db.read() as session:
            await session.execute(text("SELECT count(*) FROM note"))
            await session.execute(text("SELECT count(*) FROM note"))

    task = asyncio.ensure_future(unit())
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_a_cancellation_at_any_moment_leaves_no_transaction_on_a_pooled_connection(
    db: Database, write: bool
) -> None:
    # Cancelled at every moment of its life: while BEGIN, a statement or the return to the
    # pool is on the driver's thread. A BEGIN still queued there when the pool looked would
    # otherwise leave an idle connection inside a transaction (holding SQLite's write lock
    # for BEGIN IMMEDIATE), and the next request to take it fails "cannot start a
    # transaction within a transaction".
    for turns in range(40):
        await _cancelled_after(db, turns, write)
        for _ in range(3):
            async with db.write() as session:
                await session.execute(text("INSERT INTO note VALUES (1)"))
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
    async with db.read() as session:
        assert (await session.scalar(text("SELECT count(*) FROM note"))) == 120


async def test_begin_goes_with_the_first_statement_and_still_begins_the_transaction(
    db: Database, trips: list[str], tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "hub.db", timeout=0, isolation_level=None)
    try:
        async with db.write() as session:
            await session.execute(text("INSERT INTO note VALUES (1)"))
            # BEGIN IMMEDIATE ran: the write lock is held until the commit.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        async with db.read() as session:
            assert (await session.scalar(text("SELECT count(*) FROM note"))) == 1
            other.execute("INSERT INTO note VALUES (2)")
            # BEGIN (deferred) ran with the first read: its snapshot does not move.
            assert (await session.scalar(text("SELECT count(*) FROM note"))) == 1
        with pytest.raises(RuntimeError):  # a failing unit rolls back what it wrote
            async with db.write() as session:
                await session.execute(text("INSERT INTO note VALUES (3)"))
                raise RuntimeError
        async with db.read() as session:
            assert (await session.scalar(text("SELECT count(*) FROM note"))) == 2
    finally:
        other.close()


async def test_a_transaction_without_statements_takes_no_trip(
    db: Database, trips: list[str]
) -> None:
    trips.clear()
    async with db.write():
        pass
    async with db.read():
        pass
    with pytest.raises(RuntimeError):
        async with db.write():
            raise RuntimeError
    assert trips == []
    async with db.write() as session:  # and nothing is left waiting for the next one
        await session.execute(text("INSERT INTO note VALUES (4)"))
    async with db.read() as session:
        assert (await session.scalar(text("SELECT count(*) FROM note"))) == 1


async def test_a_streamed_read_begins_its_transaction_first(
    db: Database, trips: list[str], tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "hub.db", timeout=0, isolation_level=None)
    try:
        async with db.write() as session:
            await session.execute(text("INSERT INTO note VALUES (1), (2)"))
        trips.clear()
        async with db.read() as session:
            streamed = await session.stream_scalars(text("SELECT n FROM note ORDER BY n"))
            assert [n async for n in streamed] == [1, 2]
            other.execute("INSERT INTO note VALUES (3)")
            assert (await session.scalar(text("SELECT count(*) FROM note"))) == 2
        assert trips[0] == "execute"  # the BEGIN, on its own before the server-side cursor
    finally:
        other.close()
