"""A connection goes back to SQLite's pool with no transaction open, and without a wasted
trip to the driver's thread when its transaction already ended (a ROLLBACK after every
COMMIT cost one on every transaction of the hub)."""

from __future__ import annotations

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
