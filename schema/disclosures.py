"""Disclosure entries are written by the request, once, not by the field that read the data.

graphql-core resolves sibling fields in tasks and cancels them all when one non-null field
fails; a write transaction inside such a task can be cut half-way. So reads only collect
the entries they amount to, and this extension writes them in one short transaction after
execution and before the result leaves (per delivered event on subscriptions). If that
write fails, the result loses its data: survivor data is only shown when its disclosure
is on record.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from consent import disclosure
from consent.disclosure import DisclosureRecord, DisclosureSink
from store.errors import ErrorCode
from store.outage import is_unavailable

log = logging.getLogger("referral_hub.disclosures")

_pending: ContextVar[list[DisclosureRecord] | None] = ContextVar(
    "pending_disclosures", default=None
)


def collector() -> DisclosureSink | None:
    """Where the current operation collects disclosures; None outside an operation (the
    read then writes its own entries before returning)."""
    pending = _pending.get()
    if pending is None:
        return None

    def collect(records: Sequence[DisclosureRecord]) -> None:
        pending.extend(records)

    return collect


def withhold(result: Any, code: ErrorCode, message: str) -> None:
    """Take the data out of ``result`` and say why."""
    if result is None or not hasattr(result, "data"):
        return
    result.data = None
    result.errors = [*(result.errors or []), GraphQLError(message, extensions={"code": code.value})]


class DisclosureWrites(SchemaExtension):
    _records: list[DisclosureRecord] | None = None

    async def _flush(self, result: Any) -> None:
        records = self._records
        if not records:
            return
        batch = list(records)
        records.clear()
        context = self.execution_context.context
        if hasattr(context, "disclosed"):
            context.disclosed = True  # such an answer is never served again from a cache
        try:
            await disclosure.record(context.db, batch)
        except Exception as error:
            request_id = str(getattr(context, "request_id", "") or "")
            if is_unavailable(error):
                code = ErrorCode.UNAVAILABLE
                message = "The database is unavailable; try again shortly."
            else:
                log.error(
                    "disclosure entries not written; answer withheld (request %s)",
                    request_id,
                    exc_info=error,
                )
                code = ErrorCode.INTERNAL
                message = f"Internal error. Quote request id {request_id} to the hub operator."
            withhold(result, code, message)

    async def on_operation(self) -> AsyncIterator[None]:
        self._records = []
        previous = _pending.get()
        _pending.set(self._records)
        try:
            yield
            await self._flush(self.execution_context.result)
        finally:
            _pending.set(previous)

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        await self._flush(self.execution_context.result)

    async def on_stream_result(self, result: Any) -> AsyncIterator[None]:
        await self._flush(result)
        yield
