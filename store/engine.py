"""Engine and sessions: SQLite (embedded default) or PostgreSQL, one interface.

SQLite is set up as DESIGN.md asks: WAL, a busy timeout, foreign keys on, and write
transactions opened with ``BEGIN IMMEDIATE`` so that concurrent read-then-write
transactions queue for the write lock instead of silently losing updates.
"""

from __future__ import annotations

import logging
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
from sqlalchemy.pool import NullPool

_BEGIN_OPTION = "hub_sqlite_begin"


def _quiet_driver_log() -> None:
    """aiosqlite logs every call with its arguments at DEBUG, bypassing ``hide_parameters``:
    a hub run at DEBUG would write statement parameters (survivor data) to its log."""
    driver = logging.getLogger("aiosqlite")
    if driver.getEffectiveLevel() < logging.INFO:
        driver.setLevel(logging.INFO)


_quiet_driver_log()


def _prepare_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver: we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The hub's database: a read engine, a write engine and their sessions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        # Statement parameters never reach logs or error messages: they may be survivor data.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            _ensure_sqlite_directory(url)
            kwargs["connect_args"] = {"timeout": 15}
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
        self._reads = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._commit_listeners: list[Callable[[], None]] = []

    def on_events_committed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any write transaction of this process that added events
        commits (the in-process wake-up of the event pump; PostgreSQL also NOTIFYs)."""
        self._commit_listeners.append(callback)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("events_emitted", False):
            for callback in self._commit_listeners:
                callback()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop("events_emitted", None)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back on error."""
        async with self._writes() as session:
            sync = session.sync_session
            event.listen(sync, "after_commit", self._after_commit)
            event.listen(sync, "after_soft_rollback", lambda s, _t: self._after_rollback(s))
            async with session.begin():
                yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction."""
        async with self._reads() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _ensure_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def standalone_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for one-off jobs such as migrations."""
    _ensure_sqlite_directory(url)
    return create_async_engine(url, poolclass=NullPool, hide_parameters=True)
