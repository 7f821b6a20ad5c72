"""The disclosure log: every time survivor data reaches another organisation, one entry,
chained by hash so an edited, deleted or reordered row shows.

Entries name who, which case, which categories, under which consent version, when and by
which channel; never the data itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from consent.models import Disclosure
from store.actor import acting_staff
from store.chain import GENESIS, ChainReport
from store.engine import Database
from store.types import utcnow

__all__ = ["GENESIS", "ChainReport", "Channel", "DisclosureRecord", "append", "verify"]

_CHAIN_LOCK = 0x52484443  # "RHDC": one writer extends the chain at a time on PostgreSQL


class Channel:
    QUERY = "QUERY"
    EVENT = "EVENT"
    WEBHOOK = "WEBHOOK"
    EXPORT = "EXPORT"


@dataclass(frozen=True, slots=True)
class DisclosureRecord:
    organization_id: str
    case_id: str
    categories: tuple[str, ...]
    consent_grant_id: str
    consent_version: int
    channel: str
    request_id: str | None
    # The person who saw it; filled from the console request when a person is acting.
    staff_id: str | None = None


def entry_hash(
    prev_hash: str,
    entry_id: int,
    at: datetime,
    record: DisclosureRecord,
) -> str:
    """The hash of one entry: its content and position, and the hash before it."""
    body = orjson.dumps(
        [
            prev_hash,
            entry_id,
            at.isoformat(timespec="microseconds"),
            record.organization_id,
            record.case_id,
            sorted(record.categories),
            record.consent_grant_id,
            record.consent_version,
            record.channel,
            record.request_id,
            # Only when set, so entries written before people could act keep their hash.
            *([{"staff": record.staff_id}] if record.staff_id is not None else []),
        ]
    )
    return hashlib.sha256(body).hexdigest()


def _record_of(row: Disclosure) -> DisclosureRecord:
    return DisclosureRecord(
        organization_id=row.organization_id,
        case_id=row.case_id,
        categories=tuple(row.categories),
        consent_grant_id=row.consent_grant_id,
        consent_version=row.consent_version,
        channel=row.channel,
        request_id=row.request_id,
        staff_id=row.staff_id,
    )


# Built once, on the table rather than the mapped class: the rows are plain dicts, and
# the ORM's bulk path prepared each one as if it were an instance (about a tenth of a
# survivor read). One executemany, as before.
_INSERT = insert(cast(Table, Disclosure.__table__))
_HEAD = select(Disclosure.id, Disclosure.hash).order_by(Disclosure.id.desc()).limit(1)

DisclosureSink = Callable[[Sequence[DisclosureRecord]], None]
"""Where a read hands the disclosures it amounts to, to be written by the request."""


async def record(db: Database, records: Sequence[DisclosureRecord]) -> None:
    """Write ``records`` in one short write transaction of their own (nothing if none)."""
    if records:
        async with db.write() as session:
            await append(session, records)


# Whether the work under ``watch()`` wrote a disclosure entry, whichever path wrote it (the
# operation's batch, or a read that records its own). A mutable holder: graphql-core's field
# tasks run in copies of the context and still mark the same one.
_watched: ContextVar[list[bool] | None] = ContextVar("disclosures_watched", default=None)


@contextmanager
def watch() -> Iterator[list[bool]]:
    """Within the block, ``bool(holder)`` becomes true once any disclosure is appended."""
    holder: list[bool] = []
    token = _watched.set(holder)
    try:
        yield holder
    finally:
        _watched.reset(token)


async def append(session: AsyncSession, records: Sequence[DisclosureRecord]) -> int:
    """Extend the chain inside the caller's write transaction: one bulk insert of every
    entry, hashed in order here first. Returns how many entries were written.

    PostgreSQL writers take an advisory lock; SQLite write transactions are already
    serialised (BEGIN IMMEDIATE). The unique ``prev_hash`` makes a fork impossible anyway.
    """
    if not records:
        return 0
    watched = _watched.get()
    if watched is not None:
        watched.append(True)  # marked before the write: a failed write still counts
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    last = (await session.execute(_HEAD)).first()
    prev_id, prev_hash = (last[0], last[1]) if last is not None else (0, GENESIS)
    at = utcnow()
    person = acting_staff()
    rows: list[dict[str, object]] = []
    for offset, given in enumerate(records, start=1):
        record = given
        if given.staff_id is None and person is not None:
            record = replace(given, staff_id=person)
        entry_id = prev_id + offset
        digest = entry_hash(prev_hash, entry_id, at, record)
        rows.append(
            {
                "id": entry_id,
                "at": at,
                "organization_id": record.organization_id,
                "case_id": record.case_id,
                "categories": sorted(record.categories),
                "consent_grant_id": record.consent_grant_id,
                "consent_version": record.consent_version,
                "channel": record.channel,
                "request_id": record.request_id,
                "staff_id": record.staff_id,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    await session.execute(_INSERT, rows)
    return len(rows)


async def verify(session: AsyncSession) -> ChainReport:
    """Walk the chain in id order; name the first entry that does not fit."""
    expected_prev = GENESIS
    expected_id = 1
    count = 0
    result = await session.stream_scalars(select(Disclosure).order_by(Disclosure.id))
    async for row in result:
        count += 1
        if row.id != expected_id:
            return ChainReport(count, row.id, f"entry {expected_id} is missing")
        if row.prev_hash != expected_prev:
            return ChainReport(count, row.id, "does not follow the entry before it")
        if entry_hash(row.prev_hash, row.id, row.at, _record_of(row)) != row.hash:
            return ChainReport(count, row.id, "content does not match its hash")
        expected_prev = row.hash
        expected_id += 1
    return ChainReport(count, None, None, expected_prev)
