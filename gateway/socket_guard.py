"""A websocket is a sequence of requests: each operation on it is checked like one.

An HTTP request is checked on its own (token, revocation, client, membership, rate limit,
body size). A socket authenticates once, at ``connection_init``, and may then live for
hours; without checking again, a query sent after the token was revoked or the
organisation suspended would still run. ``OperationGate`` runs the same checks as
``BearerAuth`` before every operation; ``SocketMessageLimit`` refuses a message larger than
the HTTP body limit before anything parses it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.outage import WS_TRY_AGAIN_LATER
from gateway.ratelimit import RateLimits
from notifications.stream import CloseCode
from orgs.principal import Principal
from schema.context import HubContext
from store.outage import is_unavailable

log = logging.getLogger(__name__)

MESSAGE_TOO_BIG = 1009
_TOO_BIG = "Message too big"


@dataclass
class SocketContext(HubContext):
    """The context of one websocket: the token it authenticated with, checked again per
    operation (a new token needs a new connection, as ``connection_init`` comes once)."""

    token: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an operation may not run: close the socket, or refuse this operation only."""

    close_code: int | None = None
    reason: str = ""
    retry_after: float | None = None

    @property
    def error(self) -> dict[str, object]:
        """The GraphQL error of a refused operation (the socket stays open)."""
        wait = math.ceil(self.retry_after or 1.0)
        return {
            "message": "too many requests: slow down and retry after retryAfter seconds",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": wait},
        }


def close_for(rejected: TokenRejected) -> Refusal:
    """4403 when a new token fixes it (the reference client retries, asking for one),
    1008 when nothing the client can do will (it stops)."""
    if rejected.renewable:
        reason = "token expired" if "Expired" in rejected.reason else "token not valid"
        if rejected.reason == "token revoked":
            reason = rejected.reason
        return Refusal(close_code=CloseCode.NEW_TOKEN, reason=reason)
    return Refusal(close_code=CloseCode.NOT_ALLOWED, reason=rejected.reason)


class OperationGate:
    def __init__(self, verifier: TokenVerifier, limits: RateLimits | None) -> None:
        self.verifier = verifier
        self.limits = limits

    async def connect(self, context: SocketContext, token: str) -> Principal:
        """The principal of a socket's token at ``connection_init``; TokenRejected if none."""
        principal = await self.verifier.verify(token, context.request_id)
        context.token = token
        context.principal = principal
        return principal

    async def admit(self, context: SocketContext) -> Refusal | None:
        """None when the next operation may run; the same checks as an HTTP request."""
        if context.token is None:
            return Refusal(close_code=CloseCode.NEW_TOKEN, reason="token not valid")
        held = context.principal
        if held is not None and held.expires_at is not None and held.expires_at <= time.time():
            # No leeway on a socket: the subscriptions on it end at `exp` sharp too.
            log.info("websocket operation refused: token expired (request %s)", context.request_id)
            return Refusal(close_code=CloseCode.NEW_TOKEN, reason="token expired")
        try:
            principal = await self.verifier.verify(context.token, context.request_id)
        except TokenRejected as rejected:
            # Expected, not an error: the client is told how to go on.
            log.info("websocket operation refused: %s (request %s)", rejected, context.request_id)
            return close_for(rejected)
        except Exception as exc:
            # The token could not be checked: the database is down (the store logs that
            # once). The client is told to try again later, like at connection_init.
            if not is_unavailable(exc):
                raise
            return Refusal(close_code=WS_TRY_AGAIN_LATER, reason="Try Again Later")
        # Scopes narrowed since connection_init apply to the next operation.
        context.principal = principal
        if self.limits is not None:
            wait = await self.limits.allow(self.limits.graphql, f"client:{principal.client_id}")
            if wait is not None:
                return Refusal(retry_after=wait)
        return None


class SocketMessageLimit:
    """Close a websocket with 1009 "Message too big" on a message over ``max_bytes``
    (the HTTP body limit), before the GraphQL handler parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and self._too_big(message):
                closed = True
                await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG, "reason": _TOO_BIG})
                log.info("websocket closed: message over %d bytes", self.max_bytes)
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        async def guarded_send(message: Message) -> None:
            # Once closed here, whatever the handler still sends has nowhere to go.
            if not closed:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _too_big(self, message: Message) -> bool:
        text = message.get("text")
        if text is not None:
            if len(text) > self.max_bytes:
                return True
            return len(text) * 4 > self.max_bytes and len(text.encode()) > self.max_bytes
        data = message.get("bytes")
        return data is not None and len(data) > self.max_bytes
