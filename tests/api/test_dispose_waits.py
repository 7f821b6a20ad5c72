"""Stopping closes every connection, including one a unit of work still holds when the stop
begins: it is waited for (boundedly) instead of coming back to a pool already gone, where
only the garbage collector would find it (aiosqlite then reports the unclosed connection)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

from sqlalchemy import text

from store.engine import Database


async def _dispose_during_a_read(tmp_path: Path, settle: float) -> list[str]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    reading = asyncio.Event()
    finish = asyncio.Event()

    async def a_request(db: Database) -> None:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
            reading.set()
            await finish.wait()

    request = asyncio.create_task(a_request(db))
    await reading.wait()
    stopping = asyncio.create_task(db.dispose(settle=settle))
    await asyncio.sleep(0.05)
    finish.set()
    await request
    await stopping
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del db, request, stopping
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def test_a_connection_still_held_when_stopping_is_closed(tmp_path: Path) -> None:
    assert await _dispose_during_a_read(tmp_path, settle=5.0) == []


async def test_the_control_without_waiting_leaves_it_to_the_collector(tmp_path: Path) -> None:
    # The same stop without the wait: the returned connection is never closed. (Shows that
    # the test above can fail.)
    unclosed = await _dispose_during_a_read(tmp_path, settle=0.0)
    assert any("was deleted before being closed" in m for m in unclosed), unclosed
