"""A graphql-core executor whose subscriptions keep flat memory.

graphql-core memoises collected sub-fields on the identity of each field list and keeps the
list alive with the entry. Every subscription event is executed by a shallow copy of one
executor that shares that memo, and every event brings new field lists: about 1 KiB stays
behind per delivered event for the life of the subscription. Giving each event its own memo
keeps the within-event speed-up (lists of many rows) and lets each event's entries go when
the event is sent.
"""

from __future__ import annotations

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class FlatMemoryExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor
