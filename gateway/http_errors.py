"""Refusals at the HTTP edge, answered as GraphQL responses.

A partner's gateway or client library reads ``errors[].extensions.code`` and nothing else: a
plain-text or ``{"error": ...}`` body becomes an opaque INTERNAL_SERVER_ERROR on their side,
logged next to the request's variables. So every refusal the hub makes before GraphQL runs
(token, rate limit, body size, method, content type, malformed JSON) has the same shape as a
GraphQL error, in the media type the client asked for (GraphQL-over-HTTP draft).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum

import orjson
from starlette.types import Send

from store.errors import ErrorCode

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

Headers = list[tuple[bytes, bytes]]


class HttpRefusal(Exception):
    """A request refused before (or instead of) execution. The message names what was wrong
    with the request's shape, never a value from it."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        extensions: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)
        self.extensions = extensions or {}


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def response_media_type(accept: str | None) -> str:
    """``application/graphql-response+json`` when the client names it and prefers it at least
    as much as ``application/json``; otherwise ``application/json``.

    A missing Accept, ``*/*`` or one the hub cannot serve gets ``application/json``, as the
    draft advises for clients written before the new media type: their status codes stay 200
    for GraphQL errors, as they expect.
    """
    if not accept:
        return JSON
    ranges = _media_ranges(accept)
    new = max((q for media, q in ranges if media == GRAPHQL_RESPONSE_JSON), default=0.0)
    legacy = max((q for media, q in ranges if media == JSON), default=0.0)
    return GRAPHQL_RESPONSE_JSON if new > 0 and new >= legacy else JSON


def error_document(
    code: ErrorCode, message: str, extensions: dict[str, object] | None = None
) -> bytes:
    """A GraphQL response holding one request error (no ``data`` entry: nothing executed)."""
    return orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code.value, **(extensions or {})}}]}
    )


def content_type(media_type: str) -> bytes:
    return f"{media_type}; charset=utf-8".encode()


def accept_header(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"accept":
            return value.decode("latin-1")
    return None


async def send_refusal(
    send: Send,
    refusal: HttpRefusal,
    accept: str | None = None,
) -> None:
    """Answer an ASGI request with ``refusal`` as a GraphQL response."""
    headers: Headers = [(b"content-type", content_type(response_media_type(accept)))]
    headers += [(name.lower().encode(), value.encode()) for name, value in refusal.headers]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send(
        {
            "type": "http.response.body",
            "body": error_document(refusal.code, refusal.message, refusal.extensions),
        }
    )


def rate_limited(retry_after: float) -> HttpRefusal:
    """429 with the wait in both places a client may look: the header and ``extensions``
    (a federation gateway passes the body on but drops the subgraph's headers)."""
    seconds = max(1, math.ceil(retry_after))
    return HttpRefusal(
        429,
        ErrorCode.RATE_LIMITED,
        "too many requests: slow down and retry after the Retry-After delay",
        headers=[("Retry-After", str(seconds))],
        extensions={"retryAfter": seconds},
    )


def payload_too_large(limit: int) -> HttpRefusal:
    return HttpRefusal(
        413, ErrorCode.PAYLOAD_TOO_LARGE, f"request body over the limit of {limit} bytes"
    )


# Why a token was refused, in words that help the client and tell an attacker nothing: not
# which check failed (signature, key, issuer, audience, revocation, standing) beyond expiry.
class TokenProblem(StrEnum):
    MISSING = "no bearer access token in the Authorization header"
    EXPIRED = "the access token has expired: fetch a new one"
    INVALID = "the access token is not valid here"


def unauthenticated(problem: TokenProblem) -> HttpRefusal:
    """401 as a GraphQL response, with the RFC 6750 challenge beside it."""
    return HttpRefusal(
        401,
        ErrorCode.UNAUTHENTICATED,
        problem.value,
        headers=[
            (
                "WWW-Authenticate",
                f'Bearer error="invalid_token", error_description="{problem.value}"',
            )
        ],
    )
