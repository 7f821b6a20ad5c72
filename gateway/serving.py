"""The hub's HTTP server: uvicorn, with a goodbye that keeps the documented close code.

On shutdown uvicorn closes every open websocket with 1012 before the application hears of
it. The hub documents 1001 (going away: reconnect with your last event id), so it closes its
own sockets first; uvicorn then finds them closed and only waits for them to finish.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

GoingAway = Callable[[], Awaitable[int]]


class HubServer(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        going_away: GoingAway | None = getattr(_state(self.config.app), "going_away", None)
        if going_away is not None:
            await going_away()
        await super().shutdown(sockets)


def _state(app: Any) -> Any:
    return getattr(app, "state", None)
