"""Small ASGI middlewares: request ids, body size limit, bearer authentication."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http_errors import (
    HttpRefusal,
    TokenProblem,
    accept_header,
    payload_too_large,
    rate_limited,
    send_refusal,
    unauthenticated,
)
from gateway.logs import current_request_id
from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.outage import send_unavailable
from gateway.ratelimit import RateLimits
from store.errors import ErrorCode
from store.outage import is_unavailable
from store.reads import RequestReads

# Where BearerAuth leaves the request's read transaction for the GraphQL context.
READS_STATE = "reads"

log = logging.getLogger(__name__)


class RequestId:
    """Give every request an id, echoed in ``X-Request-Id`` and quoted in INTERNAL errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, before any handler reads them.

    ``per_path`` sets another limit on an exact path (documents are larger than queries)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    refusal = HttpRefusal(400, ErrorCode.BAD_REQUEST, "bad Content-Length")
                    await send_refusal(send, refusal, accept_header(scope["headers"]))
                    return
                if declared > limit:
                    refusal = payload_too_large(limit)
                    await send_refusal(send, refusal, accept_header(scope["headers"]))
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                refusal = payload_too_large(limit)
                await send_refusal(send, refusal, accept_header(scope["headers"]))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class BearerAuth:
    """Every HTTP request to /graphql needs a valid access token, or gets 401."""

    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        *,
        serve_ide: bool,
        limits: RateLimits | None = None,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.serve_ide = serve_ide
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if (
            self.serve_ide
            and scope["method"] == "GET"
            and b"text/html" in headers.get(b"accept", b"")
        ):
            await self.app(scope, receive, send)
            return
        raw = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = raw.strip().partition(" ")
        scope.setdefault("state", {})
        accept = headers.get(b"accept", b"").decode("latin-1")
        if scheme.lower() != "bearer" or not token.strip():
            await send_refusal(send, unauthenticated(TokenProblem.MISSING), accept)
            return
        # One read transaction for the request: the token check, then whatever the operation
        # reads (schema.context hands it to every loader). Ended on every path.
        reads = RequestReads(self.verifier.db)
        try:
            await self._authenticated(scope, receive, send, token.strip(), reads, accept)
        finally:
            await reads.close()

    async def _authenticated(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        token: str,
        reads: RequestReads,
        accept: str,
    ) -> None:
        state = scope["state"]
        try:
            principal = await self.verifier.verify(token, state.get("request_id"), reads)
        except TokenRejected as exc:
            log.info("token refused: %s (request %s)", exc, state.get("request_id"))
            expired = isinstance(exc.__cause__, jwt.ExpiredSignatureError)
            description = TokenProblem.EXPIRED if expired else TokenProblem.INVALID
            await send_refusal(send, unauthenticated(description), accept)
            return
        except Exception as exc:
            # The standing/revocation check could not reach the database: not the caller's
            # fault, and not a bug (the store logs the outage once).
            if not is_unavailable(exc):
                raise
            await send_unavailable(send)
            return
        if self.limits is not None:
            wait = await self.limits.allow(self.limits.graphql, f"client:{principal.client_id}")
            if wait is not None:
                await send_refusal(send, rate_limited(wait), accept)
                return
        state["principal"] = principal
        state[READS_STATE] = reads
        await self.app(scope, receive, send)
