"""One schema extension that gives every error a documented code and masks the rest.

Expected failures (``HubError``) keep their code and message. Errors from parsing and
validation (unknown field, too deep, too many aliases, bad variables) are BAD_USER_INPUT.
Anything else is a bug: the client sees INTERNAL with the request id, the server log gets
the traceback (statement parameters are hidden by the engine, so no survivor data).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult, PreExecutionError

from store.errors import ErrorCode, HubError
from store.outage import is_unavailable

log = logging.getLogger("referral_hub.errors")

_CODES = frozenset(code.value for code in ErrorCode)


def _request_id(extension: SchemaExtension) -> str:
    context = extension.execution_context.context
    return str(getattr(context, "request_id", "") or "")


# graphql-core quotes the value it refused ("found: {...}", "cannot represent ...: 'x'");
# that value may be survivor data. Keep the type and the path, drop the value. (An unknown
# enum value is still named: it is a word from the partner's own code, not a person's data.)
_FOUND = re.compile(r"[,.;]?\s*found:?\s.*$", re.IGNORECASE | re.DOTALL)
_CANNOT_REPRESENT = re.compile(r"(cannot represent[^:]*):\s.*$", re.DOTALL)


# graphql-core suggests names close to a typo ("Did you mean 'fullName'?"): in production
# that maps the schema for anyone, introspection off or not.
_SUGGESTION = re.compile(r"\s*Did you mean\b.*$", re.DOTALL)


def without_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


def log_internal(error: GraphQLError, request_id: str, operation_name: str | None) -> None:
    """Log a bug with what the operator needs and nothing a caller sent: the request id, the
    operation name, the error's type, its path and where in the code it happened. Never the
    query text (``str(error)`` quotes it), the variables or the exception's message (which
    may quote either)."""
    original = error.original_error or error
    frames = traceback.extract_tb(original.__traceback__)
    where = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(frames[-8:]))
    path = ".".join(str(p) for p in error.path or []) or "-"
    log.error(
        "internal error in GraphQL operation %s (request %s): %s at %s; %s",
        operation_name or "-",
        request_id,
        type(original).__name__,
        path,
        where or "no traceback",
    )


def without_values(message: str) -> str:
    """A validation or coercion message without the input value it quotes."""
    message = _CANNOT_REPRESENT.sub(r"\1", message)
    return _FOUND.sub("", message)


def expected(error: GraphQLError) -> bool:
    """A refusal with a documented code, not a bug: nothing for the server log (its message
    may quote the refused input). The same cases ``ErrorCodes`` keeps apart from INTERNAL."""
    original = error.original_error
    return (
        isinstance(original, HubError)
        or (original is not None and is_unavailable(original))
        or (original is None and (error.extensions or {}).get("code") in _CODES)
        or (
            isinstance(original, GraphQLError) and (original.extensions or {}).get("code") in _CODES
        )
        or (error.path is None and (original is None or isinstance(original, GraphQLError)))
    )


UNAVAILABLE_MESSAGE = "A service the hub depends on is unavailable; try again shortly."


def only_the_outage(result: GraphQLExecutionResult | ExecutionResult) -> None:
    """An answer hit by an outage is one UNAVAILABLE error and no data: half an answer
    would look final to a partner system, and the transport turns it into 503."""
    outage = [e for e in result.errors or [] if (e.extensions or {}).get("code") == "UNAVAILABLE"]
    if outage:
        result.data = None
        result.errors = outage[:1]


def as_refusal(error: GraphQLError) -> GraphQLError:
    """An error found before execution (syntax, validation) as the client sees it over
    HTTP: its documented code, else BAD_USER_INPUT, and no quoted input value."""
    code = (error.extensions or {}).get("code")
    if code not in _CODES:
        code = ErrorCode.BAD_USER_INPUT.value
    return GraphQLError(
        without_values(error.message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": code},
    )


class ErrorCodes(SchemaExtension):
    def _convert(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        extra: dict[str, object] = {}
        if isinstance(original, HubError):
            code, message = original.code.value, original.message
            extra = original.extensions
        elif original is None and (error.extensions or {}).get("code") in _CODES:
            code, message = str((error.extensions or {})["code"]), error.message
        elif (
            isinstance(original, GraphQLError) and (original.extensions or {}).get("code") in _CODES
        ):
            # Raised inside a resolver with a documented code, e.g. a permission class.
            code, message = str((original.extensions or {})["code"]), original.message
        elif original is not None and is_unavailable(original):
            # The database is down: not a bug, no traceback (the store logs the outage once).
            code, message = ErrorCode.UNAVAILABLE.value, UNAVAILABLE_MESSAGE
        elif error.path is None and (original is None or isinstance(original, GraphQLError)):
            # graphql-core wraps a variable's coercion error (bad enum value, wrong type,
            # missing required variable) in another path-less GraphQLError: bad input too.
            code, message = ErrorCode.BAD_USER_INPUT.value, without_values(error.message)
        else:
            request_id = _request_id(self)
            log_internal(error, request_id, self.execution_context.operation_name)
            code = ErrorCode.INTERNAL.value
            message = f"Internal error. Quote request id {request_id} to the hub operator."
            return GraphQLError(
                message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": code, "requestId": request_id},
            )
        if getattr(self.execution_context.context, "production", False):
            message = without_suggestions(message)
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={**extra, "code": code},
        )

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
            result.errors = [self._convert(error) for error in result.errors]
            only_the_outage(result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # Over websockets every result is sent while the operation is still running, so
        # on_operation comes too late: convert each one before it goes out. Errors before
        # execution (syntax, wrong operation type) are left as they are: the protocol
        # handlers read them to decide how to refuse (graphql-transport-ws: an `error`
        # message through ``as_refusal``, see gateway.graphql_view).
        if isinstance(result, PreExecutionError):
            yield
            return
        if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
            result.errors = [self._convert(error) for error in result.errors]
            only_the_outage(result)
        yield
