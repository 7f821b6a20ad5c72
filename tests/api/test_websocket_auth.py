"""Websocket clients authenticate once, at connection_init, with the same tokens as HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.oauth.keys import KeyRing
from tests.network import RunningHub

VIEWER = "{ viewer { clientId } }"
TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEGACY_WS = Subprotocol("graphql-ws")
WAIT = 10.0
SUSPEND = """
mutation ($id: ID!, $reason: String!) {
  suspendOrganization(id: $id, reason: $reason) { status }
}"""


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next protocol message, skipping keep-alives; a test never waits forever."""
    async with asyncio.timeout(WAIT):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] not in ("ka", "ping", "pong"):
                return message


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    """Wait for the server to close the connection; its close code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(WAIT):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def ask_viewer(ws: ClientConnection) -> dict[str, Any]:
    """Run the viewer query over graphql-transport-ws; the `next` payload."""
    await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": VIEWER}})
    result = await receive(ws)
    assert result["type"] == "next", result
    assert result["id"] == "1"
    assert await receive(ws) == {"id": "1", "type": "complete"}
    payload: dict[str, Any] = result["payload"]
    return payload


async def expired_token(hub: RunningHub, member: str) -> str:
    """A real token of ``member``, re-signed by the hub's key with ``exp`` in the past."""
    real = (await hub.fetch_token(member))["access_token"]
    claims = pyjwt.decode(real, options={"verify_signature": False})
    key = await KeyRing(hub.db, hub.settings).signing_key()
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}
    expired = claims | {"exp": int(time.time()) - 60}
    return jwt.encode(header, expired, ECKey.import_key(key.private_jwk))


async def test_a_shelter_authenticates_in_connection_init_and_asks_who_it_is(
    hub: RunningHub,
) -> None:
    token = await hub.token("ccpcr-shelter")
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        assert ws.subprotocol == TRANSPORT_WS
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert await receive(ws) == {"type": "connection_ack"}
        payload = await ask_viewer(ws)
    assert payload == {"data": {"viewer": {"clientId": hub.members["ccpcr-shelter"].client_id}}}


async def test_a_token_in_the_upgrade_request_is_enough(hub: RunningHub) -> None:
    token = await hub.token("embassy-bangkok")
    async with connect(
        hub.ws_url,
        subprotocols=[TRANSPORT_WS],
        additional_headers={"Authorization": f"Bearer {token}"},
    ) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        assert await receive(ws) == {"type": "connection_ack"}
        payload = await ask_viewer(ws)
    assert payload["data"] == {"viewer": {"clientId": hub.members["embassy-bangkok"].client_id}}


async def test_a_partner_on_the_legacy_protocol_authenticates_the_same_way(
    hub: RunningHub,
) -> None:
    token = await hub.token("ngo-thailand")
    async with connect(hub.ws_url, subprotocols=[LEGACY_WS]) as ws:
        assert ws.subprotocol == LEGACY_WS
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert await receive(ws) == {"type": "connection_ack"}
        # strawberry's graphql-ws handler runs subscriptions only: a query is answered with
        # an error (and no `complete`). Keep-alive messages ("ka") may come in between.
        await send(ws, {"id": "1", "type": "start", "payload": {"query": VIEWER}})
        answer = await receive(ws)
        while answer == {"type": "ka"}:
            answer = await receive(ws)
        assert answer == {
            "id": "1",
            "type": "error",
            "payload": {"message": "queries are not allowed"},
        }


async def test_a_legacy_client_without_a_token_is_closed_as_forbidden(hub: RunningHub) -> None:
    # Stock strawberry closes with 1011 here; the hub's own handler says 4403 like the new one.
    async with connect(hub.ws_url, subprotocols=[LEGACY_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        assert await receive(ws) == {"type": "connection_error"}
        assert await closed_with(ws) == (4403, "Forbidden")


async def test_a_connection_without_a_token_is_closed_as_forbidden(hub: RunningHub) -> None:
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        assert await closed_with(ws) == (4403, "Forbidden")


async def test_a_connection_init_without_any_payload_and_no_token_is_forbidden(
    hub: RunningHub,
) -> None:
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init"})
        assert await closed_with(ws) == (4403, "Forbidden")


@pytest.mark.parametrize("kind", ["garbage", "expired", "basic scheme"])
async def test_a_connection_with_an_unusable_token_is_closed_as_forbidden(
    hub: RunningHub, kind: str
) -> None:
    if kind == "garbage":
        authorization = "Bearer not-a-jwt"
    elif kind == "expired":
        authorization = f"Bearer {await expired_token(hub, 'ccpcr-shelter')}"
    else:
        authorization = f"Basic {await hub.token('ccpcr-shelter')}"
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": {"authorization": authorization}})
        assert await closed_with(ws) == (4403, "Forbidden")


async def test_a_bad_token_in_the_upgrade_request_is_closed_as_forbidden(hub: RunningHub) -> None:
    expired = await expired_token(hub, "ccpcr-shelter")
    async with connect(
        hub.ws_url,
        subprotocols=[TRANSPORT_WS],
        additional_headers={"Authorization": f"Bearer {expired}"},
    ) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        assert await closed_with(ws) == (4403, "Forbidden")


async def test_a_suspended_shelters_live_token_cannot_open_a_connection(hub: RunningHub) -> None:
    # Given a shelter holding a token that has not expired
    token = await hub.token("ccpcr-shelter")
    shelter = hub.members["ccpcr-shelter"].organization_id
    # When the secretariat suspends the shelter
    suspended = await hub.gql("secretariat", SUSPEND, {"id": shelter, "reason": "audit pending"})
    assert suspended.data == {"suspendOrganization": {"status": "SUSPENDED"}}, suspended.body
    # Then the shelter's websocket is refused for good (1008: the client stops retrying)
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert await closed_with(ws) == (1008, "organisation not active")


async def test_subscribing_before_connection_init_is_unauthorized(hub: RunningHub) -> None:
    token = await hub.token("ccpcr-shelter")
    async with connect(
        hub.ws_url,
        subprotocols=[TRANSPORT_WS],
        additional_headers={"Authorization": f"Bearer {token}"},
    ) as ws:
        # Even with a good token in the upgrade request, connection_init comes first
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": VIEWER}})
        assert await closed_with(ws) == (4401, "Unauthorized")
