"""A watchdog for transactions: none may stay open past a bound.

A transaction left open holds locks (SQLite's single write lock, PostgreSQL row locks and
a pooled connection) and so stops everyone else. Units of work end on every path by design
(see ``Database.write``); this is the last line behind that: a transaction held past the
bound is logged (its kind and age only: no SQL text, no parameters) and its task is
cancelled, which rolls it back through the unit of work's shielded cleanup.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass

log = logging.getLogger("referral_hub.transactions")


@dataclass(slots=True)
class Held:
    kind: str
    started: float
    task: asyncio.Task[object] | None
    ended: bool = False


class TransactionWatchdog:
    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.held: dict[int, Held] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None

    def track(self, kind: str) -> int:
        token = next(self._ids)
        try:
            task: asyncio.Task[object] | None = asyncio.current_task()
        except RuntimeError:
            task = None
        self.held[token] = Held(kind, time.monotonic(), task)
        return token

    def untrack(self, token: int) -> None:
        self.held.pop(token, None)

    def overdue(self, now: float | None = None) -> list[Held]:
        moment = time.monotonic() if now is None else now
        return [h for h in self.held.values() if moment - h.started > self.limit]

    def end_overdue(self) -> int:
        """Log and cancel every transaction held past the bound; how many were ended."""
        ended = 0
        now = time.monotonic()
        for held in self.overdue(now):
            if held.ended:
                continue
            held.ended = True
            ended += 1
            log.warning(
                "%s transaction held for %.1f s (bound %.1f s); ending it",
                held.kind,
                now - held.started,
                self.limit,
            )
            if held.task is not None and not held.task.done():
                held.task.cancel()
        return ended

    async def _run(self) -> None:
        interval = max(0.05, min(1.0, self.limit / 4))
        while True:
            await asyncio.sleep(interval)
            self.end_overdue()

    def start(self) -> None:
        if self.limit > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="transaction-watchdog")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
