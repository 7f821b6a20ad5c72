"""Reading a GraphQL-over-HTTP request: method, media type, body, parameters.

Pure functions of what arrived on the wire. Anything that is not one well-formed GraphQL
request becomes an ``HttpRefusal`` with a documented code, so no shape of body can reach the
executor half-understood (a list, ``null``, a number, bytes that are not UTF-8, a value nested
thousands deep) and surface as a 500 or an INTERNAL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from strawberry.http import GraphQLRequestData

from gateway.http_errors import HttpRefusal
from store.errors import ErrorCode

# Deeper than any input object in the schema, far below what a recursive walk could not take.
MAX_NESTING = 64


def allowed_methods(allow_get: bool) -> str:
    return "GET, POST" if allow_get else "POST"


def check_method(method: str, allow_get: bool) -> None:
    """Only POST, and GET when the operator turned it on; 405 with ``Allow`` otherwise."""
    if method == "POST" or (method == "GET" and allow_get):
        return
    raise HttpRefusal(
        405,
        ErrorCode.METHOD_NOT_ALLOWED,
        f"{method} is not supported on /graphql; use {allowed_methods(allow_get)}",
        headers=[("Allow", allowed_methods(allow_get))],
    )


def _bad_request(message: str) -> HttpRefusal:
    return HttpRefusal(400, ErrorCode.BAD_REQUEST, message)


def check_media_type(content_type: str | None) -> None:
    """``application/json`` in UTF-8 only: 415 for anything else, including a missing type."""
    media, *params = (piece.strip() for piece in (content_type or "").split(";"))
    if media.lower() != "application/json":
        raise HttpRefusal(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json",
        )
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise HttpRefusal(
                415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "the request body must be UTF-8"
            )


def decode_body(body: bytes) -> Any:
    """The JSON document of a POST body. orjson refuses invalid UTF-8, lone surrogates and
    nesting past 1,024 levels on its own, without recursing in Python."""
    if not body.strip():
        raise _bad_request("the request body is empty; send a JSON object with a query")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "surrogate in string" in str(exc):
            # JSON allows "\udc00" escapes, but such a string is not Unicode text.
            raise HttpRefusal(
                400, ErrorCode.BAD_USER_INPUT, "a string holds a lone surrogate (not Unicode text)"
            ) from None
        if "depth" in str(exc):
            raise _bad_request("the request body is nested too deep") from None
        raise _bad_request("the request body is not valid JSON in UTF-8") from None


def _check_nesting(value: Any, what: str) -> None:
    """Refuse values nested deeper than ``MAX_NESTING``, walking without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise _bad_request(f"`{what}` is nested deeper than {MAX_NESTING} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def request_data(document: Any) -> GraphQLRequestData:
    """One GraphQL request from a decoded body or query string, with every parameter typed
    as the draft says: ``query`` a string, ``operationName`` a string or null, ``variables``
    and ``extensions`` objects or null."""
    if isinstance(document, list):
        raise _bad_request("batched requests are not supported; send one operation per request")
    if not isinstance(document, dict):
        raise _bad_request("the request body must be a JSON object with a query")
    query = document.get("query")
    if query is None:
        raise _bad_request("the request has no `query`")
    if not isinstance(query, str):
        raise _bad_request("`query` must be a string")
    operation_name = document.get("operationName")
    if not isinstance(operation_name, str | None):
        raise _bad_request("`operationName` must be a string or null")
    for name in ("variables", "extensions"):
        value = document.get(name)
        if not isinstance(value, dict | None):
            raise _bad_request(f"`{name}` must be an object or null")
        _check_nesting(value, name)
    return GraphQLRequestData(
        query=query,
        variables=document.get("variables"),
        operation_name=operation_name,
        extensions=document.get("extensions"),
    )


def from_post(content_type: str | None, body: bytes) -> GraphQLRequestData:
    check_media_type(content_type)
    return request_data(decode_body(body))


def from_query_string(params: Mapping[str, Any]) -> GraphQLRequestData:
    """A GET request's parameters; ``variables`` and ``extensions`` are JSON-encoded."""
    document: dict[str, Any] = {}
    for name in ("query", "operationName", "variables", "extensions"):
        value = params.get(name)
        if isinstance(value, list):
            raise _bad_request(f"`{name}` is given more than once")
        if value is None or value == "":
            continue
        if name in ("variables", "extensions"):
            value = decode_body(str(value).encode())
        document[name] = value
    return request_data(document)
