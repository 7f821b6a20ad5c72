"""The hub's scheduler: deadline passes and webhook deliveries, in one process at a time."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

from cases.consent_clock import follow_consent_clock
from cases.deadlines import DeadlinePolicy, run_deadlines
from notifications.webhooks import WebhookDispatcher
from store.engine import Database
from store.lease import acquire
from store.sealed import FieldCipher
from store.types import utcnow

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        interval: float,
        policy: DeadlinePolicy,
        webhooks: WebhookDispatcher | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.interval = interval
        self.policy = policy
        self.webhooks = webhooks
        self.holder = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

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
        return True

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deadline pass failed; retrying at the next tick")
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
