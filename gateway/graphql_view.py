"""The GraphQL view: HTTP requests arrive already authenticated, websockets authenticate here."""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from contextlib import suppress
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UnsetType

from gateway.explorer import explorer_page
from gateway.oauth.verify import TokenRejected, TokenVerifier
from notifications.pump import EventPump
from notifications.stream import CloseCode
from schema.context import HubContext
from schema.errors import as_refusal
from store.engine import Database
from store.sealed import FieldCipher

log = logging.getLogger(__name__)

GOING_AWAY = CloseCode.GOING_AWAY


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` value, or None."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class LegacyProtocolHandler(BaseGraphQLWSHandler[HubContext, None]):
    """The legacy graphql-ws protocol, refusing a bad token with 4403 like the new one.

    Strawberry's handler closes with 1011 (server error) on rejection, which tells a
    partner system to retry rather than to fetch a new token.
    """

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.send_message({"type": "connection_error"})
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        self.context.connection_params = payload
        try:
            ack = await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.send_message({"type": "connection_error"})
            await self.websocket.close(code=4403, reason="Forbidden")
            return
        if isinstance(ack, UnsetType) or ack is None:
            await self.send_message({"type": "connection_ack"})
        else:
            await self.send_message({"type": "connection_ack", "payload": ack})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())


class TransportProtocolHandler(BaseGraphQLTransportWSHandler[HubContext, None]):
    """graphql-transport-ws as its protocol says: an operation that does not parse or
    validate gets an ``error`` message for its id, and the socket and its other
    subscriptions stay. (Strawberry closes the whole socket with 4400 on a syntax error.)
    The errors carry documented codes, like the same mistake over HTTP."""

    async def _handle_pre_execution_error(
        self, operation: Operation[HubContext, None], result: PreExecutionError
    ) -> None:
        await operation.send_initial_errors([as_refusal(e) for e in result.errors or []])


class HubGraphQL(GraphQL[HubContext, None]):
    graphql_ws_handler_class = LegacyProtocolHandler
    graphql_transport_ws_handler_class = TransportProtocolHandler

    def __init__(
        self,
        schema: Any,
        db: Database,
        verifier: TokenVerifier,
        cipher: FieldCipher,
        pump: EventPump,
        production: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self.db = db
        self.cipher = cipher
        self.pump = pump
        self.production = production
        self.verifier = verifier
        # Open websockets, so shutdown can say goodbye with the documented close code.
        self.open_sockets: weakref.WeakSet[WebSocket] = weakref.WeakSet()

    async def going_away(self) -> int:
        """Close every open websocket with 1001 (the hub is restarting); how many."""
        closed = 0
        for websocket in list(self.open_sockets):
            if WebSocketState.DISCONNECTED in (
                websocket.application_state,
                websocket.client_state,
            ):
                continue
            # The peer may be gone already without the handler having noticed yet.
            with suppress(RuntimeError, OSError, WebSocketDisconnect):
                await websocket.close(code=GOING_AWAY, reason="hub restarting")
                closed += 1
        return closed

    async def render_graphql_ide(self, request: Request) -> Response:
        """The explorer page written here, instead of GraphiQL from a CDN (development)."""
        return explorer_page()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> HubContext:
        state = request.scope.get("state", {})
        if isinstance(request, WebSocket):
            self.open_sockets.add(request)
        return HubContext(
            db=self.db,
            request_id=state.get("request_id") or uuid.uuid4().hex,
            cipher=self.cipher,
            pump=self.pump,
            production=self.production,
            standing_check=self.verifier.still_in_good_standing,
            principal=state.get("principal"),
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: HubContext) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        token = bearer_token(raw if isinstance(raw, str) else None)
        if token is None and context.request is not None:
            token = bearer_token(context.request.headers.get("authorization"))
        if token is None:
            raise ConnectionRejectionError()
        try:
            context.principal = await self.verifier.verify(token, context.request_id)
        except TokenRejected as exc:
            log.info("websocket refused: %s (request %s)", exc, context.request_id)
            raise ConnectionRejectionError() from exc
        return await super().on_ws_connect(context)
