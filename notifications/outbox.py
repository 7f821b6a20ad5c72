"""Writing to the outbox, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import Event
from store.types import utcnow

# Any constant works; it only has to be the same for every writer of the outbox.
_OUTBOX_LOCK = 0x52485542  # "RHUB"
CHANNEL = "hub_events"


async def lock_outbox(session: AsyncSession) -> None:
    """Take the outbox's lock now (PostgreSQL), for a writer that must take it before others.

    Services emit before they audit, so the outbox lock always comes first; a writer that
    needs another lock before it knows its event takes this one earlier to keep that order.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK})


async def emit(
    session: AsyncSession,
    *,
    topic: str,
    type: str,
    subject_id: str,
    actor_organization_id: str | None,
    audience: Iterable[str],
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Event:
    """Record one event with the change that caused it.

    Event ids must follow commit order so that a subscriber's cursor never skips a row
    committed late. SQLite serialises writers already; on PostgreSQL the transaction takes
    an advisory lock that is held until it commits.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK})
    event = Event(
        topic=topic,
        type=type,
        subject_id=subject_id,
        actor_organization_id=actor_organization_id,
        audience=sorted(set(audience)),
        payload=payload or {},
        occurred_at=at or utcnow(),
    )
    session.add(event)
    await session.flush()
    # Wake the pumps: NOTIFY is delivered at commit (and dropped on rollback) to every
    # process listening; this process's own pump is also woken by the commit hook.
    session.info["events_emitted"] = True
    if postgres:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    return event
