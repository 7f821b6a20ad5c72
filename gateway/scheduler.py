"""The hub's scheduler: deadline passes, webhook deliveries and audit checkpoints, in one
process at a time."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from cases.consent_clock import follow_consent_clock
from cases.deadlines import DeadlinePolicy, run_deadlines
from cases.erasure import erase_expired
from consent.checkpoint import Checkpoint
from notifications.webhooks import WebhookDispatcher
from store.engine import Database
from store.lease import acquire
from store.outage import is_unavailable
from store.sealed import FieldCipher
from store.types import utcnow


class CheckpointRun(Protocol):
    async def run_once(self, now: datetime) -> Checkpoint | None: ...


log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        interval: float,
        policy: DeadlinePolicy,
        webhooks: WebhookDispatcher | None = None,
        checkpoints: CheckpointRun | None = None,
        retention: timedelta | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.interval = interval
        self.policy = policy
        self.webhooks = webhooks
        self.checkpoints = checkpoints
        # How long closed cases keep survivor data; None keeps it (no retention erasure).
        self.retention = retention
        self.holder = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        # Told the outcome of every pass ("done", "skipped", "failed"), for metrics.
        self.on_run: Callable[[str], None] | None = None

    def _report(self, outcome: str) -> None:
        if self.on_run is not None:
            self.on_run(outcome)

    async def tick(self) -> bool:
        """One pass if this process holds the lease; False when another process does."""
        now = utcnow()
        ttl = timedelta(seconds=max(3 * self.interval, 30))
        if not await acquire(self.db, "deadlines", self.holder, now, ttl):
            return False
        await run_deadlines(self.db, self.cipher, now, self.policy)
        await follow_consent_clock(self.db, now)
        if self.webhooks is not None:
            await self.webhooks.run_once(now)
        if self.checkpoints is not None:
            await self.checkpoints.run_once(now)
        if self.retention is not None:
            await erase_expired(self.db, self.cipher, now, self.retention)
        return True

    async def _loop(self) -> None:
        while True:
            try:
                self._report("done" if await self.tick() else "skipped")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_unavailable(exc):  # an outage is logged once, by the store
                    log.exception("deadline pass failed; retrying at the next tick")
                self._report("failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="deadline-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self.webhooks is not None:
            await self.webhooks.close()
