"""The GraphQL view: HTTP requests arrive already authenticated, websockets authenticate here."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage
from strawberry.types.unset import UnsetType

from gateway.graphql_http import GraphQLOverHTTP
from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.outage import (
    WS_TRY_AGAIN_LATER,
    DependencyUnavailable,
    is_outage_answer,
    mark_unavailable,
)
from notifications.pump import EventPump
from schema.context import HubContext
from store.engine import Database
from store.outage import is_unavailable
from store.sealed import FieldCipher

log = logging.getLogger(__name__)


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


class TransportProtocolHandler(BaseGraphQLTransportWSHandler[HubContext, None]):
    """graphql-transport-ws, closing with 1013 (Try Again Later) when the token could not
    be checked because the database is down: the client retries instead of giving up."""

    async def handle_connection_init(self, message: TransportInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except DependencyUnavailable:
            await self.websocket.close(code=WS_TRY_AGAIN_LATER, reason="Try Again Later")


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
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self.db = db
        self.cipher = cipher
        self.pump = pump
        self.production = production
        self.verifier = verifier

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> HubContext:
        state = request.scope.get("state", {})
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
