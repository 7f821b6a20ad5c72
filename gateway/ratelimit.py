"""Rate limits: per OAuth client on /graphql, per address and per client on OAuth endpoints.

Moving windows (`gateway/moving_window.py`; limits in the `limits` library's notation), kept
in this process's memory: each hub process limits on its own, which bounds what one client can
make any one process do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import orjson
from limits import RateLimitItem, parse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.moving_window import MovingWindow


class RateLimits:
    def __init__(self, graphql: str, token: str) -> None:
        self.graphql: RateLimitItem = parse(graphql)
        self.token: RateLimitItem = parse(token)
        self._window = MovingWindow()
        self._shapes: dict[int, tuple[RateLimitItem, tuple[str, int, int]]] = {}
        # Told of every refusal ("graphql" or "token"), for metrics.
        self.on_refusal: Callable[[str], None] | None = None

    def _shape(self, item: RateLimitItem) -> tuple[str, int, int]:
        """An item's key, amount and window: worked out once per item (``key_for`` builds
        its string anew on every call, and every /graphql request asks)."""
        shape = self._shapes.get(id(item))
        if shape is None or shape[0] is not item:
            shape = (item, (item.key_for(), item.amount, item.get_expiry()))
            self._shapes[id(item)] = shape
        return shape[1]

    async def allow(self, item: RateLimitItem, who: str) -> float | None:
        """None when allowed; otherwise the seconds to wait before trying again."""
        key, amount, seconds = self._shape(item)
        wait = self._window.hit((key, who), amount, seconds)
        if wait is None:
            return None
        if self.on_refusal is not None:
            self.on_refusal("graphql" if item is self.graphql else "token")
        return max(1.0, wait)


async def refuse(send: Send, retry_after: float, body: dict[str, object]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(math.ceil(retry_after)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


OAUTH_PATHS = ("/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/register")


class TokenEndpointLimit:
    """Requests to every OAuth endpoint per client address: credential guessing gets nowhere
    fast. Authenticated requests are also limited per client, by the endpoints themselves
    (not here, before authentication, where anyone could use up a victim's budget)."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in OAUTH_PATHS:
            address = (scope.get("client") or ("unknown", 0))[0]
            wait = await self.limits.allow(self.limits.token, f"token:{address}")
            if wait is not None:
                await refuse(
                    send,
                    wait,
                    {"error": "temporarily_unavailable", "error_description": "too many requests"},
                )
                return
        await self.app(scope, receive, send)
