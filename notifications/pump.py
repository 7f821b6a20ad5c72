"""One event pump per process: reads new outbox rows after they commit and fans them out
to bounded per-subscriber queues.

Woken by PostgreSQL's LISTEN/NOTIFY (a dropped listener reconnects with backoff and the
pump catches up from the table), by this process's own commits (the only wake-up SQLite
has), and by a slow poll that covers anything missed. A subscriber whose queue is full is
cut off rather than allowed to grow memory; it reconnects with its last event id and
replays from the table. Rows are read in id order, and ids follow commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from notifications.models import Event
from notifications.outbox import CHANNEL
from orgs.principal import Principal
from store.engine import Database
from store.outage import is_unavailable

log = logging.getLogger(__name__)

BATCH = 500


class SubscriberClosed(Exception):
    """The subscription was cut off; ``reason`` says why (too slow, shut down…)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(eq=False)
class Subscriber:
    """A bounded queue of events for one subscription, held for one principal."""

    wants: Callable[[Event], bool]
    capacity: int
    principal: Principal | None = None
    # An audience's one subscriber stands for this many subscriptions (gateway/fanout.py).
    members: Callable[[], int] | None = None
    queue: asyncio.Queue[Event | None] = field(init=False)
    closed_reason: str | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.capacity + 1)

    def offer(self, event: Event) -> None:
        if self.closed_reason is not None or not self.wants(event):
            return
        if self.queue.qsize() >= self.capacity:
            self.close("too slow")
            return
        self.queue.put_nowait(event)

    def close(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)

    async def next(self) -> Event:
        item = await self.queue.get()
        if item is None:
            raise SubscriberClosed(self.closed_reason or "closed")
        return item


class EventPump:
    def __init__(
        self,
        db: Database,
        *,
        poll_interval: float = 2.0,
        queue_capacity: int = 1000,
    ) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.queue_capacity = queue_capacity
        self.last_id = 0
        self._subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
        self.listener_connected = asyncio.Event()
        self.observers: list[Callable[[Event], None]] = []
        # Others holding subscriptions for principals (shared audiences) cut theirs off too.
        self.cutters: list[Callable[[Callable[[Principal], bool], str], int]] = []
        db.on_events_committed(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def subscribe(
        self,
        wants: Callable[[Event], bool],
        principal: Principal | None = None,
        members: Callable[[], int] | None = None,
    ) -> Subscriber:
        subscriber = Subscriber(wants, self.queue_capacity, principal, members)
        self._subscribers.add(subscriber)
        return subscriber

    def cut_off(self, matches: Callable[[Principal], bool], reason: str) -> int:
        """Close every subscription whose principal matches: suspension, revocation."""
        count = 0
        for subscriber in list(self._subscribers):
            if subscriber.principal is not None and matches(subscriber.principal):
                subscriber.close(reason)
                count += 1
        for cutter in self.cutters:
            count += cutter(matches, reason)
        return count

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscriber_count(self) -> int:
        """Live subscriptions, counting each member of a shared audience."""
        return sum(1 if s.members is None else s.members() for s in self._subscribers)

    @property
    def stream_count(self) -> int:
        """Streams this pump feeds: one per shared audience, one per unshared subscription."""
        return len(self._subscribers)

    @property
    def running(self) -> bool:
        """Whether the pump's tasks are alive (readiness)."""
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    async def head(self) -> int:
        """The newest event id committed so far."""
        async with self.db.read() as session:
            return int(await session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)

    async def start(self) -> None:
        self.last_id = await self.head()
        self._tasks.append(asyncio.create_task(self._run(), name="event-pump"))
        if self.db.dialect == "postgresql":
            self._tasks.append(asyncio.create_task(self._listen(), name="event-listener"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for subscriber in list(self._subscribers):
            subscriber.close("hub shutting down")
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    async def pump_once(self) -> int:
        """Fan out every row committed since the last pass; the number of rows."""
        total = 0
        while True:
            async with self.db.read() as session:
                rows = list(
                    await session.scalars(
                        select(Event).where(Event.id > self.last_id).order_by(Event.id).limit(BATCH)
                    )
                )
            for row in rows:
                for observer in self.observers:
                    observer(row)
                for subscriber in list(self._subscribers):
                    subscriber.offer(row)
                self.last_id = row.id
            total += len(rows)
            if len(rows) < BATCH:
                return total

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for, which on Python 3.11 can drop a cancellation
            # (stop) arriving in the same turn as the wake-up.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.pump_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_unavailable(exc):  # an outage is logged once, by the store
                    log.exception("event pump pass failed; retrying")
                await asyncio.sleep(1)

    async def _listen(self) -> None:
        """LISTEN on PostgreSQL; on a dropped connection, reconnect with backoff and catch up."""
        url = make_url(self.db.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        delay = 0.2
        while True:
            try:
                connection = await asyncpg.connect(dsn)
                self._listener = connection
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, lambda *_args: self.wake())
                self.listener_connected.set()
                delay = 0.2
                self.wake()  # catch up on anything committed while we were away
                while not lost.is_set() and not connection.is_closed():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(5):
                            await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Info, not warning: a database outage gets its one warning from the store.
                log.info("event listener lost (%s); reconnecting", type(exc).__name__)
            self.listener_connected.clear()
            self.wake()
            await asyncio.sleep(delay * (1 + random.random()))  # noqa: S311
            delay = min(delay * 2, 10.0)
