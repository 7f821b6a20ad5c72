"""A graphql-core executor whose subscriptions keep flat memory, and which refuses variables
no GraphQL type can refuse.

graphql-core memoises collected sub-fields on the identity of each field list and keeps the
list alive with the entry. Every subscription event is executed by a shallow copy of one
executor that shares that memo, and every event brings new field lists: about 1 KiB stays
behind per delivered event for the life of the subscription. Giving each event its own memo
keeps the within-event speed-up (lists of many rows) and lets each event's entries go when
the event is sent. The fast path's plans (``schema.fast_completion``) are per event too.

Variables are checked here, where every operation (HTTP or websocket, query, mutation or
subscription) passes before it runs: a string with a lone surrogate is refused like a
variable of the wrong type, not found later as an INTERNAL from the database or encoder.
"""

from __future__ import annotations

from typing import Any

from graphql.error import GraphQLError

from schema.fast_completion import FastCompletionExecutor
from schema.input_checks import variables_problem
from store.errors import ErrorCode


class FlatMemoryExecutor(FastCompletionExecutor):
    @classmethod
    def build(
        cls,
        schema: Any,
        document: Any,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        problem = variables_problem(raw_variable_values)
        if problem is not None:
            # Coded here: a subscription's refusal goes out before ErrorCodes sees it.
            return [GraphQLError(problem, extensions={"code": ErrorCode.BAD_USER_INPUT.value})]
        return super().build(
            schema, document, root_value, context_value, raw_variable_values, *args, **kwargs
        )

    def build_per_event_executor(self, payload: Any) -> Any:
        executor: Any = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor.reset_fast_memos()
        return executor
