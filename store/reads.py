"""One read transaction shared by everything a request reads.

An HTTP request checks its token, reads a page, its parties, organisations, grants and the
sealed fields it asked for. Each of those in a transaction of its own cost a BEGIN, a pool
round trip and (on SQLite) a new snapshot; worse, they could disagree with one another. A
``RequestReads`` opens one read transaction at first use and keeps it until ``close()``,
which the request calls on every path (answer, error, cancellation) before it writes
anything (disclosures): a request never holds a read connection while waiting for a
write one.

graphql-core runs sibling fields as concurrent tasks and an ``AsyncSession`` allows one
operation at a time, so uses queue on a lock. A use that fails (or is cancelled half-way)
ends the transaction; the next use opens a fresh one. Once closed, every use is a read
transaction of its own, so a late reader (a subscription, a mutation's answer) still works.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from store.engine import Database


class RequestReads:
    """A request's read transaction, opened lazily, ended by ``close()``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = asyncio.Lock()
        self._stack: AsyncExitStack | None = None
        self._session: AsyncSession | None = None
        self._closed = False
        self.transactions = 0  # opened so far: what a test of "one per request" counts
        # The data generation the token check read in this transaction (store/generation.py),
        # or None when it was not read here.
        self.generation: object | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The shared read session, for one use at a time."""
        if self._closed:
            async with self.db.read() as own:
                yield own
            return
        async with self._lock:
            if self._session is None:
                stack = AsyncExitStack()
                self._session = await stack.enter_async_context(self.db.read())
                self._stack = stack
                self.transactions += 1
            try:
                yield self._session
            except BaseException as error:
                # A failed or cancelled statement may leave the connection mid-protocol:
                # end this transaction (rolled back); whoever reads next starts a clean one.
                with contextlib.suppress(Exception):
                    await self._end(error)
                raise

    async def close(self) -> None:
        """End the transaction (if one is open); later uses get transactions of their own."""
        self._closed = True
        # Nothing was written in it: a failure to end it cleanly changes no data, and the
        # unit of work has rolled back and returned the connection by then.
        with contextlib.suppress(Exception):
            await self._end(None)

    async def _end(self, error: BaseException | None) -> None:
        stack, self._stack, self._session = self._stack, None, None
        if stack is not None:
            # The unit of work (store.engine) finishes its commit or rollback and returns
            # the connection even if the caller is cancelled meanwhile.
            if error is None:
                await stack.aclose()
            else:
                await stack.__aexit__(type(error), error, error.__traceback__)


def reads_of(db: Database, reads: RequestReads | None) -> RequestReads:
    """``reads`` when the request has one; otherwise a closed one whose every use is its own
    read transaction (websockets, the command line, services called outside a request)."""
    if reads is not None:
        return reads
    standalone = RequestReads(db)
    standalone._closed = True
    return standalone
