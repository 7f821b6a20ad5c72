"""One extension that times every operation and reports what it was and how it ended, for
metrics and the operations log. It hooks the operation only, never a field (see DESIGN:
no per-field tracing in production).

What an operation "was" is its root field names, checked against the schema, never the
client-chosen operation name: labels stay few and predictable, and a name a client makes up
(which could be anything, survivor data included) never reaches a metric or a log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from graphql import FieldNode, GraphQLSchema, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

log = logging.getLogger("referral_hub.operations")

# More distinct root fields than this in one document are reported together.
MAX_NAMED_FIELDS = 3
INTROSPECTION = frozenset({"__schema", "__type", "__typename"})


@dataclass(frozen=True, slots=True)
class Observed:
    operation: str  # root field names, e.g. "referrals" or "caseStatus,referral"
    operation_type: str  # query, mutation, subscription, or unknown
    outcome: str  # OK, or the first error's documented code
    seconds: float


Recorder = Callable[[Observed], None]


def operation_label(schema: GraphQLSchema, node: OperationDefinitionNode | None) -> str:
    """The root fields an operation selects, as one bounded label."""
    if node is None:
        return "invalid"
    root = schema.get_root_type(node.operation)
    known = set(root.fields) if root is not None else set()
    names: set[str] = set()
    for selection in node.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return "fragment"
        name = selection.name.value
        if name not in known and name not in INTROSPECTION:
            return "invalid"
        names.add(name)
    if len(names) > MAX_NAMED_FIELDS:
        return "multiple"
    return ",".join(sorted(names)) or "invalid"


def _operation(document: object, name: str | None) -> OperationDefinitionNode | None:
    definitions = getattr(document, "definitions", None) or []
    found = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        found = [d for d in found if d.name is not None and d.name.value == name]
    return found[0] if len(found) == 1 else None


class ObservedOperations(SchemaExtension):
    """Listed first, so it finishes last: it sees errors after ErrorCodes gave them codes."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        context = self.execution_context
        node = _operation(context.graphql_document, context.operation_name)
        label = operation_label(context.schema._schema, node)
        kind = node.operation.value if node is not None else "unknown"
        errors = getattr(context.result, "errors", None) or (context.pre_execution_errors or [])
        outcome = "OK"
        if errors:
            outcome = str((errors[0].extensions or {}).get("code") or "INTERNAL")
        observed = Observed(label, kind, outcome, seconds)
        hub_context = context.context
        if hasattr(hub_context, "observed"):
            hub_context.observed = observed  # the answer cache reports a hit the same way
        report(self.recorder, observed, hub_context)


def report(recorder: Recorder | None, observed: Observed, hub_context: object) -> None:
    """The metric and the operations log line of one operation (or of an answer served
    again from the answer cache, gateway/answers.py)."""
    if recorder is not None:
        recorder(observed)
    principal = getattr(hub_context, "principal", None)
    kind, label, outcome, seconds = (
        observed.operation_type,
        observed.operation,
        observed.outcome,
        observed.seconds,
    )
    log.info(
        "graphql %s %s: %s",
        kind,
        label,
        outcome,
        extra={
            "request_id": getattr(hub_context, "request_id", None),
            "organization": getattr(principal, "organization_id", None),
            "client": getattr(principal, "client_id", None),
            "operation": label,
            "operation_type": kind,
            "outcome": outcome,
            "duration_ms": round(seconds * 1000, 3),
        },
    )
