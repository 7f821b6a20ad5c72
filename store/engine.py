"""Engine and sessions: SQLite (embedded default) or PostgreSQL, one interface.

SQLite is set up as DESIGN.md asks: WAL, a busy timeout, foreign keys on, and write
transactions opened with ``BEGIN IMMEDIATE`` so that concurrent read-then-write
transactions queue for the write lock instead of silently losing updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool, Pool, PoolResetState
from sqlalchemy.util import await_

from store.key_store import attach_key_store
from store.outage import Outage, is_unavailable
from store.sqlite_json import load_json
from store.sqlite_trips import OneTripConnection
from store.sqlite_trips import install as one_trip_cursors
from store.uninterrupted import uninterrupted
from store.watchdog import TransactionWatchdog

_BEGIN_OPTION = "hub_sqlite_begin"


def _quiet_driver_log() -> None:
    """aiosqlite logs every call with its arguments at DEBUG, bypassing ``hide_parameters``:
    a hub run at DEBUG would write statement parameters (survivor data) to its log."""
    driver = logging.getLogger("aiosqlite")
    # Its own level, not the effective one: a root logger set to DEBUG later must not
    # open it up again.
    if driver.level < logging.INFO:
        driver.setLevel(logging.INFO)


_quiet_driver_log()


def _attach_keys(engine: AsyncEngine) -> None:
    """The case keys live in their own file (store/key_store.py), on every connection."""
    database = str(engine.url.database or "")

    @event.listens_for(engine.sync_engine, "connect", insert=True)
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        attach_key_store(dbapi_connection, database)


def _prepare_sqlite(engine: AsyncEngine) -> None:
    _attach_keys(engine)

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver: we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        one_trip_cursors(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted survivor data (an erased case's key) is zeroed on disk, not just unlinked.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        adapted = conn.connection.dbapi_connection
        if isinstance(adapted, OneTripConnection):
            # Sent with the transaction's first statement, in the same trip to aiosqlite's
            # thread (store/sqlite_trips.py): no trip of its own.
            adapted.defer_begin(f"BEGIN {mode}")
            return
        # Straight to the driver: one trip to aiosqlite's thread instead of three (a cursor
        # opened, executed, closed), on every transaction of the hub.
        driver = conn.connection.driver_connection
        assert driver is not None  # a checked-out connection
        await_(uninterrupted(driver.execute(f"BEGIN {mode}")))

    @event.listens_for(engine.sync_engine, "reset")
    def on_reset(dbapi_connection: Any, record: Any, state: PoolResetState) -> None:
        # In place of the pool's rollback-on-return (off for SQLite: ``pool_reset_on_return``
        # is None), which after a COMMIT rolls back nothing but still costs a trip to
        # aiosqlite's thread on every transaction. sqlite3 itself knows, without a trip,
        # whether a transaction is still open on the connection; only then roll it back.
        if isinstance(dbapi_connection, OneTripConnection):
            dbapi_connection.take_begin()  # a BEGIN still waiting began nothing
        if not state.asyncio_safe:
            return  # as the pool's own reset: no awaiting outside the event loop
        driver = record.driver_connection
        if driver is None:
            dbapi_connection.rollback()
        elif driver.in_transaction:
            await_(uninterrupted(driver.rollback()))


_REACHED = "reached_database"


def _reached_database(session: Session, _transaction: Any, _connection: Any) -> None:
    # When this unit got its connection: whether its success says anything about an
    # outage (store/outage.py).
    session.info[_REACHED] = time.monotonic()


class Database:
    """The hub's database: a read engine, a write engine and their sessions."""

    def __init__(self, url: str, *, echo: bool = False, transaction_limit: float = 60.0) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        # Statement parameters never reach logs or error messages: they may be survivor data.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            _ensure_sqlite_directory(url)
            kwargs["connect_args"] = {"timeout": 15}
            kwargs["pool_reset_on_return"] = None  # reset by _prepare_sqlite's on_reset
            kwargs["json_deserializer"] = load_json  # orjson where it reads as json does
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _prepare_sqlite(self.engine)
            self.write_engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        else:
            self.write_engine = self.engine
        reads = type("ReadSession", (Session,), {})
        self._reads = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=reads
        )
        # This database's own session class, listened to once (listening per session cost
        # more than a short write transaction's statements).
        writes = type("WriteSession", (Session,), {})
        self._writes = async_sessionmaker(
            self.write_engine, expire_on_commit=False, sync_session_class=writes
        )
        event.listen(writes, "after_commit", self._after_commit)
        event.listen(writes, "after_soft_rollback", self._after_soft_rollback)
        for kind in (reads, writes):
            event.listen(kind, "after_begin", _reached_database)
        self._commit_listeners: list[Callable[[], None]] = []
        self.outage = Outage()
        self.watchdog = TransactionWatchdog(transaction_limit)

    def on_events_committed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any write transaction of this process that added events
        commits (the in-process wake-up of the event pump; PostgreSQL also NOTIFYs)."""
        self._commit_listeners.append(callback)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("events_emitted", False):
            for callback in self._commit_listeners:
                callback()

    def _after_soft_rollback(self, session: Session, _previous: Any) -> None:
        session.info.pop("events_emitted", None)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back on error,
        on cancellation and on timeout; the connection always goes back to the pool."""
        session = self._writes()
        async with self._unit(session, "write"):
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (never SQLite's write lock), ended on every path."""
        async with self._unit(self._reads(), "read") as session:
            yield session

    @asynccontextmanager
    async def _unit(self, session: AsyncSession, kind: str) -> AsyncIterator[AsyncSession]:
        # The end of a unit of work must not be interruptible: a cancellation arriving
        # during COMMIT, ROLLBACK or the connection's return to the pool (graphql-core
        # cancels sibling field tasks; clients disconnect; timeouts fire) would otherwise
        # leave the transaction open on a connection nobody owns, holding its locks.
        token = self.watchdog.track(kind)
        try:
            try:
                await session.begin()
                yield session
                await uninterrupted(session.commit())
            except BaseException as error:
                with contextlib.suppress(Exception):
                    await uninterrupted(session.rollback())
                if isinstance(error, Exception) and is_unavailable(error):
                    self.outage.begin(error)
                raise
            if self.outage.down:
                self.outage.end_after(session.info.get(_REACHED))
        finally:
            try:
                await uninterrupted(session.close())
            finally:
                self.watchdog.untrack(token)

    async def dispose(self, *, settle: float = 5.0) -> None:
        """Close the pool's connections. Units of work still running (a request answered
        while the server stops, a task ending its transaction) are given up to ``settle``
        seconds to hand their connections back first: a connection returned after the pool
        is gone would be left to the garbage collector, never closed."""
        pool = self.engine.sync_engine.pool
        deadline = time.monotonic() + settle
        # Polled: the pool's count of checked-out connections has no event to wait on.
        while time.monotonic() < deadline and (self.watchdog.held or _checked_out(pool)):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await self.engine.dispose()


def _checked_out(pool: Pool) -> int:
    counted = getattr(pool, "checkedout", None)  # QueuePool and its async variant count
    return int(counted()) if callable(counted) else 0


def _ensure_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def standalone_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for one-off jobs such as migrations."""
    _ensure_sqlite_directory(url)
    engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        _attach_keys(engine)
    return engine
