"""Telling an outage from a bug, without a database: the shapes a lost or refused database
connection takes, and the one warning an outage is worth."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg.exceptions as pg
import pytest
from sqlalchemy import exc as sa
from sqlalchemy import text

from store.engine import Database
from store.outage import Outage, is_unavailable
from store.watchdog import TransactionWatchdog


def wrapped(original: BaseException, invalidated: bool = False) -> sa.DBAPIError:
    return sa.DBAPIError("SELECT 1", {}, original, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        OSError(101, "Network is unreachable"),
        wrapped(Exception("terminating connection"), invalidated=True),
        wrapped(pg.AdminShutdownError("terminating connection due to administrator command")),
        wrapped(pg.CannotConnectNowError("the database system is starting up")),
        wrapped(pg.ConnectionDoesNotExistError("connection was closed")),
        sa.TimeoutError("QueuePool limit reached"),
    ],
)
def test_a_lost_or_refused_connection_is_an_outage(error: BaseException) -> None:
    assert is_unavailable(error)


def test_an_outage_found_behind_other_exceptions_still_counts() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("resolver failed") from inner
    except RuntimeError as outer:
        assert is_unavailable(outer)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad input"),
        KeyError("x"),
        wrapped(pg.UniqueViolationError("duplicate key")),
        wrapped(pg.UndefinedTableError("relation does not exist")),
        sa.IntegrityError("INSERT", {}, Exception("constraint")),
    ],
)
def test_a_bug_or_a_bad_statement_is_not_an_outage(error: BaseException) -> None:
    assert not is_unavailable(error)


def test_one_warning_per_outage_and_one_line_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage()
    with caplog.at_level(logging.INFO, logger="referral_hub.outage"):
        for _ in range(25):
            outage.begin(ConnectionRefusedError(111, "secret detail"))
        assert outage.down
        outage.end()
        outage.end()
        outage.begin(ConnectionRefusedError(111, "again"))
    levels = [r.levelname for r in caplog.records]
    assert levels == ["WARNING", "INFO", "WARNING"]
    assert "ConnectionRefusedError" in caplog.records[0].getMessage()
    assert "secret detail" not in caplog.text


async def test_the_watchdog_cancels_only_what_is_overdue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog = TransactionWatchdog(limit=0.05)
    started = asyncio.Event()

    async def holds(kind: str) -> None:
        token = watchdog.track(kind)
        started.set()
        try:
            await asyncio.sleep(10)
        finally:
            watchdog.untrack(token)

    task = asyncio.create_task(holds("write"))
    await started.wait()
    assert watchdog.end_overdue() == 0
    await asyncio.sleep(0.1)
    fresh = watchdog.track("read")
    with caplog.at_level(logging.WARNING, logger="referral_hub.transactions"):
        assert watchdog.end_overdue() == 1
        assert watchdog.end_overdue() == 0  # logged and ended once
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(watchdog.held) == [fresh]
    assert len(caplog.records) == 1 and "write transaction held" in caplog.text


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_only_a_unit_that_reached_the_database_ends_an_outage(
    tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A unit of work that ran no statement never connected, and one that connected before
    # the outage began can still succeed: neither says the database is back, and ending
    # the outage on them would log a second warning for the same outage at the next
    # failure (seen in CI: PostgreSQL's shutdown ends connections one by one).
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    try:
        unit = database.read if kind == "read" else database.write
        with caplog.at_level(logging.INFO, logger="referral_hub.outage"):
            database.outage.begin(ConnectionRefusedError(111, "Connection refused"))
            async with unit():
                pass
            assert database.outage.down
            # Under way when the outage began: its success on a connection the server had
            # not closed yet says nothing about the next one.
            async with unit() as session:
                await session.execute(text("SELECT 1"))
                database.outage.end()
                database.outage.begin(ConnectionResetError(104, "reset by peer"))
            assert database.outage.down
            async with unit() as session:
                assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
            assert not database.outage.down
        assert [r.levelname for r in caplog.records] == ["WARNING", "INFO", "WARNING", "INFO"]
    finally:
        await database.dispose()
