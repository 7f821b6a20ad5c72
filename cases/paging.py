"""Cursor pages, newest first, shared by every inbox and outbox, and idempotent sends:
request fingerprints and the retry-returns-the-same-object rule."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from store.engine import Database
from store.errors import ErrorCode, HubError


class Pageable(Protocol):
    id: str
    created_at: datetime


def encode_cursor(row: Pageable) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def after_cursor(
    cursor: str,
    created_at: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[str],
) -> ColumnElement[bool]:
    """Rows strictly after ``cursor`` in (created_at desc, id desc) order."""
    at, row_id = decode_cursor(cursor)
    return after_position(created_at, id_column, at, row_id)


def after_position(
    created_at: InstrumentedAttribute[datetime] | ColumnElement[datetime],
    id_column: InstrumentedAttribute[str] | ColumnElement[str],
    at: datetime | ColumnElement[datetime],
    row_id: str | ColumnElement[str],
) -> ColumnElement[bool]:
    """Rows strictly after the position (at, row_id) in (created_at desc, id desc) order."""
    return or_(created_at < at, and_(created_at == at, id_column < row_id))


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor of this hub names; BAD_USER_INPUT for anything else."""
    try:
        at_text, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        at = datetime.fromisoformat(at_text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, "after: not a cursor from this list") from exc
    if at.tzinfo is None or not row_id:
        raise HubError(ErrorCode.BAD_USER_INPUT, "after: not a cursor from this list")
    return at, row_id


# Every list takes `first` from 1 to its maximum; out of range is refused, never clamped.
PAGE_MAX = 100
# The polled event stream is read in bigger gulps by partner systems catching up.
EVENTS_PAGE_MAX = 500


def check_page_size(first: int, maximum: int = PAGE_MAX) -> None:
    """The one refusal of an out-of-range `first`, for every list."""
    if not 1 <= first <= maximum:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"first must be from 1 to {maximum}")


def fingerprint(parts: Sequence[Any]) -> str:
    """A stable digest of a request, to tell a retry from a different request with a reused key."""
    return hashlib.sha256(orjson.dumps(list(parts))).hexdigest()


def check_idempotency_key(key: str) -> str:
    cleaned = key.strip()
    if not 8 <= len(cleaned) <= 100:
        raise HubError(ErrorCode.BAD_USER_INPUT, "idempotencyKey must be 8 to 100 characters")
    return cleaned


class Idempotent(Protocol):
    request_fingerprint: str


T = TypeVar("T", bound=Idempotent)


async def once(
    db: Database,
    find: Callable[[AsyncSession], Awaitable[T | None]],
    create: Callable[[], Awaitable[T]],
    digest: str,
    what: str,
) -> T:
    """Create at most one object per idempotency key: a retry of the same request returns
    what the first stored, the key reused for a different request is CONFLICT, and of two
    retries racing, the loser answers with what the winner stored."""
    async with db.read() as session:
        earlier = await find(session)
    if earlier is None:
        try:
            return await create()
        except IntegrityError:
            async with db.read() as session:
                earlier = await find(session)
            if earlier is None:
                raise  # another constraint failed: a bug, not a retry
    if earlier.request_fingerprint != digest:
        raise HubError(ErrorCode.CONFLICT, f"idempotencyKey was used for another {what}")
    return earlier
