"""What every plain-HTTP route beside ``/graphql`` shares (``/documents``, ``/statistics.*``,
``/exports/*``): the bearer token check and rate limit, refusals as GraphQL-shaped error
documents with the hub's codes and HTTP statuses, and bugs masked as ``INTERNAL``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.http_errors import TokenProblem, error_document, unauthenticated
from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.ratelimit import RateLimits
from orgs.principal import Principal
from store.errors import ErrorCode, HubError
from store.outage import is_unavailable

log = logging.getLogger(__name__)

STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONSENT_REQUIRED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
}

E = TypeVar("E", bound=StrEnum)


def parse_enum(kind: type[E], raw: str | None, name: str) -> E:
    """A query parameter as one of ``kind``'s values, or BAD_USER_INPUT listing them."""
    try:
        return kind(raw or "")
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise HubError(ErrorCode.BAD_USER_INPUT, f"{name}: one of {allowed}") from None


class BearerDoor:
    """The caller's principal from ``Authorization: Bearer``, under the GraphQL rate limit."""

    def __init__(self, verifier: TokenVerifier, limits: RateLimits | None = None) -> None:
        self.verifier = verifier
        self.limits = limits

    async def principal(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HubError(ErrorCode.UNAUTHENTICATED, TokenProblem.MISSING.value)
        try:
            principal = await self.verifier.verify(
                token.strip(), getattr(request.state, "request_id", None)
            )
        except TokenRejected:
            raise HubError(ErrorCode.UNAUTHENTICATED, TokenProblem.INVALID.value) from None
        if self.limits is not None:
            wait = await self.limits.allow(self.limits.graphql, f"client:{principal.client_id}")
            if wait is not None:
                raise HubError(ErrorCode.RATE_LIMITED, "too many requests: slow down")
        return principal


def refused(error: HubError) -> Response:
    """The error document for a refusal, with its status (and the bearer challenge on 401)."""
    headers = None
    if error.code == ErrorCode.UNAUTHENTICATED:
        headers = dict(unauthenticated(TokenProblem.INVALID).headers)
    return Response(
        error_document(error.code, error.message, error.extensions),
        status_code=STATUS.get(error.code, 400),
        media_type="application/json",
        headers=headers,
    )


def masked(
    path: str, endpoint: Callable[[Request], Awaitable[Response]]
) -> Callable[..., Awaitable[Response]]:
    """A bug answers 500 INTERNAL with the request id, logged with the route's pattern, its
    type and place only (never a message: it may quote what the caller sent). Outages go on
    to the outage handler (503 UNAVAILABLE)."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:
            if is_unavailable(exc):
                raise
            request_id = str(getattr(request.state, "request_id", "") or "")
            frames = traceback.extract_tb(exc.__traceback__)[-6:]
            where = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(frames))
            log.error(
                "internal error on %s (request %s): %s; %s",
                path,
                request_id,
                type(exc).__name__,
                where,
            )
            error = HubError(
                ErrorCode.INTERNAL,
                f"Internal error. Quote request id {request_id} to the hub operator.",
                {"requestId": request_id},
            )
            return Response(
                error_document(error.code, error.message, error.extensions),
                status_code=500,
                media_type="application/json",
            )

    return guarded


def guarded_route(
    path: str, endpoint: Callable[[Request], Awaitable[Response]], methods: list[str]
) -> Route:
    """``endpoint`` at ``path``, its bugs masked."""
    return Route(path, masked(path, endpoint), methods=methods)
