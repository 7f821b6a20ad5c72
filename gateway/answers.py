"""Answers to repeated read-only queries, served again while provably still the answer.

Partners poll their inbox, and nearly every poll asks the same query with the same token over
data that has not changed. Such a request still passes every usual check (token signature and
expiry, revocation and standing read in the request's transaction, rate limit, body limit:
all before the view runs); only the execution is skipped, and the stored response (status,
headers, bytes) is sent again, with the same metric and operations log line as a miss.

An entry is served only when all of these hold:

- the key is equal: the token (its ``jti``) and every part of the principal the context is
  built from (organisation and kind, client, scopes, staff member, expiry), the HTTP method,
  the negotiated response media type (the only header the answer depends on), the operation
  text, its name and its variables (canonical JSON). Entries are never shared between tokens;
- the data generation read by this request's token check (store/generation.py: SQLite's
  trigger-bumped counter, PostgreSQL's snapshot) equals the one read by the request that
  computed the answer, so no committed write from any process came between;
- the entry is younger than ``answer_cache_seconds`` (facts that change with time alone,
  such as a consent's expiry or a deadline, show within it); 0 turns the cache off.

Only a single ``query`` whose answer had no errors and recorded no disclosure (a sealed
field's read is logged every time, so it is never answered from here) is stored; mutations,
subscriptions, batches, streamed or incremental results run as before. Memory is bounded by
entries and bytes (least recently used go first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from orgs.principal import Principal
from schema.observed import Recorder

AnswerKey = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    generation: object
    stored_at: float  # time.monotonic()
    status: int
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    operation: str  # what ObservedOperations reported: root fields and operation type
    operation_type: str


def answer_key(
    principal: Principal,
    method: str,
    media_type: str,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> AnswerKey | None:
    """The key of a request's answer, or None when it may not be cached (no token id)."""
    if principal.token_id is None:
        return None
    try:
        canonical = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
    except (TypeError, orjson.JSONEncodeError):
        return None
    return (
        principal.token_id,
        principal.organization_id,
        principal.organization_kind,
        principal.client_id,
        principal.scopes,
        principal.staff_id,
        principal.expires_at,
        method,
        media_type,
        query,
        operation_name,
        canonical,
    )


class AnswerCache:
    """Least recently used answers, bounded by count and bytes."""

    def __init__(
        self,
        ttl: float,
        *,
        recorder: Recorder | None = None,
        max_entries: int = 1024,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.ttl = ttl
        self.recorder = recorder  # the hub's metrics, told of a hit as of any operation
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[AnswerKey, Answer] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: AnswerKey, generation: object) -> Answer | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.generation != generation or time.monotonic() - entry.stored_at >= self.ttl:
            self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: AnswerKey, answer: Answer) -> None:
        size = len(answer.body)
        if size > self.max_bytes // 4:
            return  # one answer never pushes out a quarter of the cache
        self._drop(key)
        self._entries[key] = answer
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def clear(self) -> None:
        """Drop everything (a write in this process may call it; correctness never needs it)."""
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: AnswerKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)
