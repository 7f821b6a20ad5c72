"""A document with several operations runs only the one ``operationName`` names.

Strawberry reads a missing ``operationName`` as "the first operation" and runs it, where the
GraphQL spec says such a request is an error: a client that forgot the name would run an
operation it did not mean (a mutation, perhaps). Checked with validation, so the request
fails before anything executes, over HTTP and websockets alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationDefinitionNode
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from store.errors import ErrorCode


class OneOperationChosen(SchemaExtension):
    """Must come after ``ValidationCache`` in the extension list: it adds to its errors."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # The name as the client sent it; ExecutionContext.operation_name fills in the first.
        provided = getattr(context, "_provided_operation_name", None)
        if document is not None and provided is None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                error = GraphQLError(
                    "the document holds several operations: choose one with operationName",
                    extensions={"code": ErrorCode.BAD_USER_INPUT.value},
                )
                # A new list: the validation cache shares its lists between requests.
                context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield
