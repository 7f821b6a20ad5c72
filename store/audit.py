"""The append-only audit trail: who did what to which object, and when.

Rows are never updated or deleted; the migration installs triggers that refuse both.
Entries carry identifiers and reasons written by staff about organisations, never
survivor data.

The trail is hash-chained like the disclosure log: entry ``seq`` stores the hash of
entry ``seq - 1``, writers take one advisory lock on PostgreSQL (SQLite serialises
writers already), and a unique ``prev_hash`` makes a fork impossible even so.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import JSON, BigInteger, Integer, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.actor import acting_staff
from store.base import Base
from store.chain import GENESIS, ChainReport
from store.types import UTCDateTime, utcnow

_CHAIN_LOCK = 0x52484155  # "RHAU": one writer extends the audit chain at a time on PostgreSQL


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Position in the chain, 1, 2, 3, ... without gaps (ids may have gaps on PostgreSQL).
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The person (a console session), beside organisation and client; None for systems.
    actor_staff_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_organization_id: str | None,
    actor_client_id: str | None,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any],
    request_id: str | None,
    actor_staff_id: str | None = None,
) -> str:
    """The hash of one audit entry: its content and position, and the hash before it.

    The person is hashed only when there is one, so entries written before people
    could act keep the hash they were written with."""
    fields: list[Any] = [
        prev_hash,
        seq,
        at.isoformat(timespec="microseconds"),
        actor_organization_id,
        actor_client_id,
        action,
        subject_type,
        subject_id,
        detail,
        request_id,
    ]
    if actor_staff_id is not None:
        fields.append({"staff": actor_staff_id})
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    """Recompute an entry's hash from what it stores."""
    return entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.at,
        entry.actor_organization_id,
        entry.actor_client_id,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.detail,
        entry.request_id,
        entry.actor_staff_id,
    )


async def lock_chain(session: AsyncSession) -> None:
    """Hold the audit chain for the rest of the caller's write transaction (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})


# Built once: every write of the hub reads the head and appends. ``HEAD`` may also be
# joined into a writer's own SELECT (see ``append_audit``).
_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
HEAD = _HEAD.subquery("audit_head")
_INSERT_ENTRY = insert(cast(Table, AuditEntry.__table__))


async def chain_head(session: AsyncSession) -> tuple[int, str]:
    """The number of entries and the hash of the newest one (GENESIS when empty)."""
    return head_of(*((await session.execute(_HEAD)).first() or (None, None)))


def head_of(seq: int | None, hash_: str | None) -> tuple[int, str]:
    """The head as read (both None for an empty chain): its position and hash."""
    return (int(seq), str(hash_)) if seq is not None and hash_ is not None else (0, GENESIS)


async def record_audit(
    session: AsyncSession,
    *,
    actor_organization_id: str | None,
    actor_client_id: str | None,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one audit entry to the caller's transaction, as the next link of the chain.

    The entry is flushed at once so that a second entry in the same transaction
    follows it.
    """
    await lock_chain(session)
    seq, prev_hash = await chain_head(session)
    entry = AuditEntry(
        at=at or utcnow(),
        actor_organization_id=actor_organization_id,
        actor_client_id=actor_client_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        # Stored as it reads back, so the hash covers exactly what the column holds.
        detail=orjson.loads(orjson.dumps(detail or {})),
        request_id=request_id,
        seq=seq + 1,
        prev_hash=prev_hash,
        actor_staff_id=acting_staff(),
    )
    entry.hash = hash_of(entry)
    session.add(entry)
    await session.flush()
    return entry


async def append_audit(
    session: AsyncSession,
    *,
    at: datetime,
    actor_organization_id: str | None,
    actor_client_id: str | None,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any],
    request_id: str | None,
    head: tuple[int, str] | None = None,
) -> None:
    """``record_audit`` for a write path that counts its statements: the chain head read and
    one Core insert, no ORM object and no flush of the caller's session.

    ``detail`` must already be what the JSON column reads back (plain JSON types, string
    keys), since the hash covers exactly what is stored; callers build it from ids and
    enum values. ``head`` is the chain head the caller read earlier in this same write
    transaction (``HEAD`` in its own SELECT); it is used only on SQLite, whose write
    transactions hold the database from their ``BEGIN IMMEDIATE`` on, so nobody can have
    extended the chain since. PostgreSQL takes the chain's lock and reads the head again.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres or head is None:
        await lock_chain(session)
        seq, prev_hash = await chain_head(session)
    else:
        seq, prev_hash = head
    seq += 1
    staff_id = acting_staff()
    digest = entry_hash(
        prev_hash,
        seq,
        at,
        actor_organization_id,
        actor_client_id,
        action,
        subject_type,
        subject_id,
        detail,
        request_id,
        staff_id,
    )
    conn = await session.connection()
    await conn.execute(
        _INSERT_ENTRY,
        {
            "at": at,
            "actor_organization_id": actor_organization_id,
            "actor_client_id": actor_client_id,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "detail": detail,
            "request_id": request_id,
            "seq": seq,
            "prev_hash": prev_hash,
            "hash": digest,
            "actor_staff_id": staff_id,
        },
    )


async def verify_audit(session: AsyncSession) -> ChainReport:
    """Walk the audit chain in order; name the first entry (by position) that does not fit."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    result = await session.stream_scalars(select(AuditEntry).order_by(AuditEntry.seq))
    async for row in result:
        count += 1
        if row.seq != expected_seq:
            return ChainReport(count, row.seq, f"entry {expected_seq} is missing")
        if row.prev_hash != expected_prev:
            return ChainReport(count, row.seq, "does not follow the entry before it")
        if hash_of(row) != row.hash:
            return ChainReport(count, row.seq, "content does not match its hash")
        expected_prev = row.hash
        expected_seq += 1
    return ChainReport(count, None, None, expected_prev)
