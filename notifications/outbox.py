"""Writing to the outbox, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import Event
from store.types import utcnow

# Any constant works; it only has to be the same for every writer of the outbox.
_OUTBOX_LOCK = 0x52485542  # "RHUB"
CHANNEL = "hub_events"
# Built once: a statement built per call costs more than the insert itself.
_INSERT_EVENT = insert(cast(Table, Event.__table__))


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


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event a service has decided to record, built before its write transaction opens."""

    topic: str
    type: str
    subject_id: str
    actor_organization_id: str | None
    audience: Iterable[str]
    payload: dict[str, Any]
    occurred_at: datetime


async def emit_all(session: AsyncSession, drafts: Sequence[EventDraft]) -> None:
    """Record several events of one change in one statement, ids in the order given.

    The same rules as ``emit`` (outbox lock on PostgreSQL, the pumps woken at commit), for a
    write path that counts its statements: one multi-row insert instead of one flush each.
    """
    if not drafts:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK})
    rows = [
        {
            "topic": d.topic,
            "type": d.type,
            "subject_id": d.subject_id,
            "actor_organization_id": d.actor_organization_id,
            "audience": sorted(set(d.audience)),
            "payload": d.payload,
            "occurred_at": d.occurred_at,
        }
        for d in drafts
    ]
    # One driver call (executemany: the rows in list order, so their ids follow it).
    conn = await session.connection()
    await conn.execute(_INSERT_EVENT, rows)
    session.info["events_emitted"] = True
    if postgres:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
