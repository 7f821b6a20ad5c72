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
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportInitMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message as TransportMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    OperationMessage,
    StartMessage,
)
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UnsetType

from gateway.explorer import explorer_page
from gateway.fanout import Audiences, audience_key
from gateway.graphql_http import GraphQLOverHTTP
from gateway.middleware import READS_STATE
from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.outage import (
    WS_TRY_AGAIN_LATER,
    DependencyUnavailable,
    is_outage_answer,
    mark_unavailable,
)
from gateway.ratelimit import RateLimits
from gateway.socket_guard import OperationGate, Refusal, SocketContext, close_for
from notifications.pump import EventPump
from notifications.stream import CloseCode
from schema.context import HubContext
from schema.errors import as_refusal
from store.engine import Database
from store.outage import is_unavailable
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


class SocketRefused(ConnectionRejectionError):
    """A refusal at ``connection_init`` that carries its close code (4403 or 1008)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__()
        self.refusal = refusal


def _close_of(error: ConnectionRejectionError) -> tuple[int, str]:
    """A refusal at connect that a new token fixes keeps strawberry's 4403 "Forbidden"; one
    that it cannot fix closes with 1008 and says why (the client has proved who it is)."""
    if isinstance(error, SocketRefused) and error.refusal.close_code == CloseCode.NOT_ALLOWED:
        return CloseCode.NOT_ALLOWED, error.refusal.reason
    return CloseCode.NEW_TOKEN, "Forbidden"


def _closed(adapter: object) -> bool:
    """Whether the hub already closed this socket (a subscription ending it, a refusal)."""
    ws = getattr(adapter, "ws", None)
    return isinstance(ws, WebSocket) and ws.application_state == WebSocketState.DISCONNECTED


async def _admit(view: object, context: HubContext) -> Refusal | None:
    """The gate's answer for the next operation on a socket served by ``HubGraphQL``."""
    assert isinstance(view, HubGraphQL)
    if not isinstance(context, SocketContext):
        return Refusal(close_code=CloseCode.NEW_TOKEN, reason="token not valid")
    return await view.gate.admit(context)


class TransportProtocolHandler(BaseGraphQLTransportWSHandler[HubContext, None]):
    """graphql-transport-ws, with every operation checked like an HTTP request."""

    async def handle_connection_init(self, message: TransportInitMessage) -> None:
        payload = message.get("payload", {})
        if (
            self.connection_init_received
            or self.connection_timed_out
            or not isinstance(payload, dict)
        ):
            # A repeated or late init, a bad payload: strawberry's own answer (4429, 4400).
            await super().handle_connection_init(message)
            return
        # Strawberry closes every refusal with 4403; one the client cannot fix gets 1008.
        self.connection_init_received = True
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        self.context.connection_params = payload
        try:
            ack = await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError as error:
            code, reason = _close_of(error)
            await self.websocket.close(code=code, reason=reason)
            return
        except DependencyUnavailable:
            # The token could not be checked: the database is down. The client retries.
            await self.websocket.close(code=WS_TRY_AGAIN_LATER, reason="Try Again Later")
            return
        if isinstance(ack, UnsetType) or ack is None:
            await self.send_message({"type": "connection_ack"})
        else:
            await self.send_message({"type": "connection_ack", "payload": ack})
        self.connection_acknowledged = True

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message.get("id") not in self.operations:
            refusal = await _admit(self.view, self.context)
            if refusal is not None:
                if refusal.close_code is not None:
                    await self.websocket.close(code=refusal.close_code, reason=refusal.reason)
                    return
                await self.websocket.send_json(
                    {"id": message["id"], "type": "error", "payload": [refusal.error]}
                )
                return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[HubContext, None]) -> None:
        """A subscription that others with the same operation and visibility share runs
        as a member of their audience (gateway/fanout.py); anything else as strawberry's."""
        audiences = getattr(self.view, "audiences", None)
        websocket = getattr(self.websocket, "ws", None)
        key = None
        if isinstance(audiences, Audiences) and isinstance(websocket, WebSocket):
            key = audience_key(
                operation.query,
                operation.variables,
                operation.operation_name,
                self.context.principal,
            )
        if key is None or not isinstance(audiences, Audiences):
            await super().run_operation(operation)
            return
        assert isinstance(websocket, WebSocket)
        ending = await audiences.serve(
            key, operation.id, self.context, operation.variables, websocket
        )
        if ending.code is not None:
            if not _closed(self.websocket):
                log.info(
                    "closing subscription socket: %s (request %s)",
                    ending.reason,
                    self.context.request_id,
                )
                with suppress(RuntimeError, OSError, WebSocketDisconnect):
                    await websocket.close(code=ending.code, reason=ending.reason)
        elif ending.pre_execution is not None:
            await self._handle_pre_execution_error(operation, ending.pre_execution)
            return
        with suppress(RuntimeError, OSError, WebSocketDisconnect):
            await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def send_message(self, message: TransportMessage) -> None:
        # A subscription that closed the socket (expired token, suspension) must not make
        # strawberry's `complete` fail and log an error: there is nobody to tell.
        if not _closed(self.websocket):
            await super().send_message(message)

    async def _handle_pre_execution_error(
        self, operation: Operation[HubContext, None], result: PreExecutionError
    ) -> None:
        # graphql-transport-ws as its protocol says: an operation that does not parse or
        # validate gets an ``error`` message for its id, and the socket and its other
        # subscriptions stay (Strawberry closes the whole socket with 4400). The errors
        # carry documented codes, like the same mistake over HTTP.
        await operation.send_initial_errors([as_refusal(e) for e in result.errors or []])


class LegacyProtocolHandler(BaseGraphQLWSHandler[HubContext, None]):
    """The legacy graphql-ws protocol, refusing a bad token with 4403 like the new one,
    and checking every operation like an HTTP request.

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
        except ConnectionRejectionError as error:
            await self.send_message({"type": "connection_error"})
            code, reason = _close_of(error)
            await self.websocket.close(code=code, reason=reason)
            return
        except DependencyUnavailable:
            await self.send_message({"type": "connection_error"})
            await self.websocket.close(code=WS_TRY_AGAIN_LATER, reason="Try Again Later")
            return
        if isinstance(ack, UnsetType) or ack is None:
            await self.send_message({"type": "connection_ack"})
        else:
            await self.send_message({"type": "connection_ack", "payload": ack})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            refusal = await _admit(self.view, self.context)
            if refusal is not None:
                if refusal.close_code is not None:
                    await self.websocket.close(code=refusal.close_code, reason=refusal.reason)
                    return
                await self.websocket.send_json(
                    {"id": message["id"], "type": "error", "payload": refusal.error}
                )
                return
        await super().handle_start(message)

    async def send_message(self, message: OperationMessage) -> None:
        if not _closed(self.websocket):
            await super().send_message(message)


class HubGraphQL(GraphQLOverHTTP):
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
        limits: RateLimits | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self.gate = OperationGate(verifier, limits)
        self.db = db
        self.cipher = cipher
        self.pump = pump
        self.production = production
        self.verifier = verifier
        # Live subscriptions that share one execution per event (gateway/fanout.py).
        self.audiences = Audiences(self.schema, pump, self.encode_json)
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
        kind = SocketContext if isinstance(request, WebSocket) else HubContext
        return kind(
            db=self.db,
            request_id=state.get("request_id") or uuid.uuid4().hex,
            cipher=self.cipher,
            pump=self.pump,
            production=self.production,
            standing_check=self.verifier.still_in_good_standing,
            principal=state.get("principal"),
            reads=state.get(READS_STATE),
            request=request,
            response=response,
        )

    async def on_ws_connect(self, context: HubContext) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        token = bearer_token(raw if isinstance(raw, str) else None)
        if token is None and context.request is not None:
            token = bearer_token(context.request.headers.get("authorization"))
        if token is None or not isinstance(context, SocketContext):
            raise ConnectionRejectionError()
        try:
            await self.gate.connect(context, token)
        except TokenRejected as exc:
            log.info("websocket refused: %s (request %s)", exc, context.request_id)
            raise SocketRefused(close_for(exc)) from exc
        except Exception as exc:
            if is_unavailable(exc):
                raise DependencyUnavailable() from exc
            raise
        return await super().on_ws_connect(context)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        if is_outage_answer(response_data):
            mark_unavailable(sub_response)
        return super().create_response(response_data, sub_response)
