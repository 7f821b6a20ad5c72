"""Work that, once handed to the database, is awaited to its end even if the caller is
cancelled meanwhile; the cancellation is passed on once it is done.

A cancellation (graphql-core cancels sibling field tasks when one fails; clients disconnect;
timeouts fire) must never separate what the driver has been asked to do from what the pool
believes about the connection. A ``BEGIN`` still queued on aiosqlite's thread when its caller
is cancelled runs after the connection is back in the pool, which then holds an idle
connection inside a transaction (with SQLite's write lock, for ``BEGIN IMMEDIATE``); the next
request to take it fails. The same holds for a statement, a ``COMMIT`` or a ``ROLLBACK``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def uninterrupted(work: Awaitable[T]) -> T:
    """``work``'s result, awaited to its end; a cancellation meanwhile is raised after."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result
