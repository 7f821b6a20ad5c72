"""Checks that no transaction is left open: SQLite's write lock is free, PostgreSQL has no
session idle in a transaction, and the hub holds nothing in its pool or its watchdog."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.network import RunningHub, backend

IDLE_IN_TRANSACTION = (
    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
)


def sqlite_write_lock_free(url: str) -> bool:
    """Take SQLite's write lock from a separate connection, with a short timeout."""
    path = make_url(url).database
    assert path is not None
    connection = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


async def open_transactions(hub: RunningHub) -> list[str]:
    """What is still open, described (empty when nothing is)."""
    found = []
    held = len(hub.db.watchdog.held)
    if held:
        found.append(f"{held} unit(s) of work in the hub")
    if backend() == "sqlite":
        if not await asyncio.to_thread(sqlite_write_lock_free, hub.settings.database_url):
            found.append("SQLite's write lock is held")
    else:
        async with hub.db.read() as session:
            idle = (await session.execute(text(IDLE_IN_TRANSACTION))).scalar_one()
        if idle:
            found.append(f"{idle} PostgreSQL session(s) idle in transaction")
    return found


async def settle(hub: RunningHub, within: float = 3.0) -> list[str]:
    """Wait up to ``within`` seconds for every transaction to end; what is left open."""
    deadline = time.monotonic() + within
    while True:
        left = await open_transactions(hub)
        if not left or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.05)
