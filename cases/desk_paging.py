"""Cursor pages over the coordinator's desk lists.

The desk works its lists out in memory, from several tables at once (late items of four
kinds, acknowledgement times, webhook deliveries, clients), so a page is cut from the ranked
list rather than by SQL. The cursor names the last row's rank key, never an offset: a row that
settles or appears between two pages does not shift the next page onto rows already seen.
Pure: no I/O.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import orjson

from cases.desk import DeskItem
from cases.desk_network import ClientAttention, FailingWebhook
from cases.desk_rules import AcknowledgementSummary
from cases.paging import check_page_size
from store.errors import ErrorCode, HubError

T = TypeVar("T")
# A row's place in its list: compared as a tuple of strings, so every part sorts as text.
RankKey = tuple[str, ...]

_NOT_A_CURSOR = "after: not a cursor from this list"
# Counts are at most this big, so that their complement sorts "most first" as text.
_COUNT_CEILING = 10**12


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[tuple[str, T]]  # (cursor, row), in rank order
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.rows[-1][0] if self.rows else None


def encode(key: RankKey) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode()


def decode(cursor: str) -> RankKey:
    """The rank key a cursor names; BAD_USER_INPUT for anything this hub did not hand out."""
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise HubError(ErrorCode.BAD_USER_INPUT, _NOT_A_CURSOR) from exc
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise HubError(ErrorCode.BAD_USER_INPUT, _NOT_A_CURSOR)
    return tuple(parts)


def page_of(
    rows: Sequence[T], rank: Callable[[T], RankKey], first: int, after: str | None
) -> Page[T]:
    """At most ``first`` rows ranked after ``after`` (from the start without one)."""
    check_page_size(first)
    ranked = sorted(rows, key=rank)
    if after is not None:
        start = decode(after)
        ranked = [r for r in ranked if rank(r) > start]
    return Page([(encode(rank(r)), r) for r in ranked[:first]], len(ranked) > first)


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _most_first(count: float | None) -> str:
    return f"{_COUNT_CEILING - int(count or 0):013d}"


def late_item_rank(item: DeskItem) -> RankKey:
    """Overdue items first, the longest overdue first (the earliest deadline), then the rest."""
    return ("0" if item.overdue else "1", _moment(item.due_at), item.kind.value, item.id)


def acknowledger_rank(summary: AcknowledgementSummary) -> RankKey:
    """The most late acknowledgements first, then the slowest median."""
    return (
        _most_first(summary.late),
        _most_first(summary.median_seconds),
        summary.organization_id,
    )


def webhook_rank(hook: FailingWebhook) -> RankKey:
    """The most failed deliveries first, then the most still retrying."""
    return (
        _most_first(hook.failed_deliveries),
        _most_first(hook.retrying_deliveries),
        hook.webhook_id,
    )


def client_rank(client: ClientAttention) -> RankKey:
    """The client whose rotation falls due first, first."""
    return (_moment(client.key_expires_at), client.client_id)
