"""Answers for the time a dependency is down: 503 UNAVAILABLE with Retry-After over HTTP,
close code 1013 (Try Again Later) on websockets.

A partner system told 503 or 1013 retries after a pause; told 500 or 4403 it would page
someone or throw its token away. Which failures count as an outage is decided in
``store.outage``; the log line that goes with one is written there too, once per outage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

import orjson
from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from store.errors import ErrorCode
from store.outage import RETRY_AFTER, is_unavailable

WS_TRY_AGAIN_LATER = 1013
MESSAGE = "A service the hub depends on is unavailable; try again shortly."
RETRY_HEADERS = {"Retry-After": str(RETRY_AFTER)}
BODY = orjson.dumps({"errors": [{"message": MESSAGE, "extensions": {"code": "UNAVAILABLE"}}]})


class DependencyUnavailable(Exception):
    """Raised where a protocol handler must answer an outage its own way (websockets)."""


async def send_unavailable(send: Send) -> None:
    """The whole 503 answer, for middlewares that run before the GraphQL view."""
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(RETRY_AFTER).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def is_outage_answer(response_data: Mapping[str, Any] | Sequence[Any]) -> bool:
    """True when a GraphQL answer reports UNAVAILABLE (then it carries no data)."""
    if not isinstance(response_data, Mapping):
        return False
    errors = response_data.get("errors") or []
    return any(
        isinstance(e, Mapping)
        and (e.get("extensions") or {}).get("code") == ErrorCode.UNAVAILABLE.value
        for e in errors
    )


def mark_unavailable(response: Response) -> None:
    """Make the view's answer a 503 with Retry-After."""
    response.status_code = 503
    response.headers["retry-after"] = str(RETRY_AFTER)


def _unavailable_response() -> Response:
    return Response(BODY, status_code=503, media_type="application/json", headers=RETRY_HEADERS)


async def end_socket_unavailable(websocket: WebSocket) -> None:
    """An outage on a websocket: never an HTTP response on its scope (the server would
    raise on it). An open socket is closed with 1013; a handshake not yet answered is
    refused with the 503 when the server can send one, else closed, which refuses it."""
    if WebSocketState.DISCONNECTED in (websocket.application_state, websocket.client_state):
        return
    # The peer may be gone already without the handler having noticed.
    with suppress(RuntimeError, OSError, WebSocketDisconnect):
        if websocket.application_state == WebSocketState.CONNECTING:
            if "websocket.http.response" in websocket.scope.get("extensions", {}):
                await websocket.send_denial_response(_unavailable_response())
                return
        await websocket.close(code=WS_TRY_AGAIN_LATER, reason="Try Again Later")


async def _unavailable_or_raise(conn: Request | WebSocket, exc: Exception) -> Response | None:
    if not is_unavailable(exc):
        raise exc
    if isinstance(conn, WebSocket):
        await end_socket_unavailable(conn)
        return None
    return _unavailable_response()


def outage_handlers() -> dict[Any, Any]:
    """Starlette exception handlers: a database error that escapes a plain route (the token
    endpoint, introspection, registration) is a 503 when it is an outage; anything else is
    raised on, to the server error handler, as before."""
    return {
        sa_exc.DBAPIError: _unavailable_or_raise,
        sa_exc.TimeoutError: _unavailable_or_raise,
        OSError: _unavailable_or_raise,
    }
