"""A websocket is a sequence of requests: every operation sent over an open socket is checked
as an HTTP request is (token, revocation, client, membership, rate limit, size), and the socket
is closed with a code the reference client understands (4403: get a new token; 1008: stop)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.api.event_support import (
    LEGACY_WS,
    SUSPEND,
    TRANSPORT_WS,
    closed_with,
    new_client,
    ok,
    partner_socket,
    receive,
    send,
    start,
)
from tests.api.test_event_access import DISABLE, client_token
from tests.network import RunningHub, Template, serve_hub

VIEWER = "query { viewer { clientId } }"
CREATE_WEBHOOK = (
    "mutation($url: String!) { createWebhook(input: {url: $url, topics: [ORGANIZATION]}) "
    "{ webhook { id } } }"
)


async def answered(ws: ClientConnection, op: str) -> dict[str, Any]:
    """The `next` payload of operation ``op``, then its `complete`."""
    message = await receive(ws)
    assert (message["type"], message["id"]) == ("next", op), message
    assert await receive(ws) == {"id": op, "type": "complete"}
    payload: dict[str, Any] = message["payload"]
    return payload


async def revoke(hub: RunningHub, member: str, token: str) -> None:
    async with hub.oauth_client(member) as client:
        response = await client.revoke_token(f"{hub.base_url}/oauth/revoke", token=token)
    assert response.status_code == 200


async def webhook_count(hub: RunningHub) -> int:
    return int(await hub.scalar("SELECT count(*) FROM webhooks"))


async def test_a_query_after_revocation_closes_the_socket_for_a_new_token(
    hub: RunningHub,
) -> None:
    token = (await hub.fetch_token("ccpcr-shelter"))["access_token"]
    async with partner_socket(hub, None, token=token) as ws:
        await start(ws, "1", VIEWER)
        assert (await answered(ws, "1"))["data"]["viewer"]["clientId"]

        await revoke(hub, "ccpcr-shelter", token)
        await start(ws, "2", VIEWER)
        code, before = await closed_with(ws)
    # Nothing was answered: the close comes instead of the result.
    assert (code, before) == (4403, [])


async def test_a_webhook_cannot_be_created_over_a_socket_after_revocation(
    hub: RunningHub,
) -> None:
    token = (await hub.fetch_token("ngo-thailand"))["access_token"]
    before = await webhook_count(hub)
    async with partner_socket(hub, None, token=token) as ws:
        await revoke(hub, "ngo-thailand", token)
        await start(ws, "1", CREATE_WEBHOOK, {"url": "https://hooks.example.org/rh"})
        code, seen = await closed_with(ws)
    assert (code, seen) == (4403, [])
    assert await webhook_count(hub) == before


async def test_a_query_after_the_client_is_disabled_closes_the_socket_for_good(
    hub: RunningHub,
) -> None:
    client_id, secret = await new_client(hub, "ngo-thailand", "night desk")
    token = (await client_token(hub, client_id, secret))["access_token"]
    async with partner_socket(hub, None, token=token) as ws:
        await start(ws, "1", VIEWER)
        assert (await answered(ws, "1"))["data"]["viewer"]["clientId"] == client_id
        await ok(hub, "secretariat", DISABLE, {"id": client_id})
        await start(ws, "2", VIEWER)
        assert await closed_with(ws) == (1008, [])
        assert ws.close_reason == "client disabled"


async def test_a_mutation_after_suspension_closes_the_socket_for_good(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    before = await webhook_count(hub)
    async with partner_socket(hub, "ccpcr-shelter", protocol=TRANSPORT_WS) as ws:
        await ok(hub, "secretariat", SUSPEND, {"id": shelter})
        await start(ws, "1", CREATE_WEBHOOK, {"url": "https://hooks.example.org/rh"})
        code, seen = await closed_with(ws)
        assert (code, ws.close_reason) == (1008, "organisation not active")
    assert seen == []
    assert await webhook_count(hub) == before


async def test_an_expired_token_closes_the_socket_at_the_next_operation_without_error_logs(
    template: Template, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve_hub(template, access_token_ttl=2) as hub:
        token = await hub.fetch_token("embassy-bangkok")
        async with partner_socket(hub, None, token=token["access_token"]) as ws:
            await start(ws, "1", VIEWER)
            await answered(ws, "1")
            await asyncio.sleep(max(0.0, token["expires_at"] - time.time()) + 0.2)
            with caplog.at_level(logging.INFO):
                await start(ws, "2", VIEWER)
                assert await closed_with(ws) == (4403, [])
        assert ws.close_reason == "token expired"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("websocket operation refused" in r.getMessage() for r in caplog.records)


async def test_a_subscription_outliving_its_token_gets_a_coded_close_and_no_error_log(
    template: Template, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve_hub(template, access_token_ttl=2) as hub:
        token = (await hub.fetch_token("secretariat"))["access_token"]
        with caplog.at_level(logging.INFO):
            async with partner_socket(hub, None, token=token) as ws:
                await start(ws, "1")
                code, seen = await closed_with(ws)
                assert (code, ws.close_reason, seen) == (4403, "token expired", [])
            await asyncio.sleep(0.2)  # whatever the server logs after the close
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_legacy_protocol_operation_after_revocation_closes_the_socket(
    hub: RunningHub,
) -> None:
    token = (await hub.fetch_token("embassy-bangkok"))["access_token"]
    async with partner_socket(hub, None, token=token, protocol=LEGACY_WS) as ws:
        await revoke(hub, "embassy-bangkok", token)
        await send(
            ws, {"id": "1", "type": "start", "payload": {"query": "subscription { events { id } }"}}
        )
        code, seen = await closed_with(ws)
    assert (code, seen) == (4403, [])


async def test_a_message_over_the_http_body_limit_closes_the_socket_unread(
    hub: RunningHub,
) -> None:
    # 2 MB of padding inside a mutation that would otherwise create a webhook.
    before = await webhook_count(hub)
    padding = " " * (2 * 1024 * 1024)
    async with partner_socket(hub, "ngo-thailand", max_size=None) as ws:
        await start(ws, "1", CREATE_WEBHOOK + padding, {"url": "https://hooks.example.org/rh"})
        code, seen = await closed_with(ws)
        assert (code, ws.close_reason, seen) == (1009, "Message too big", [])
    assert await webhook_count(hub) == before


async def test_a_message_just_under_the_limit_is_still_served(hub: RunningHub) -> None:
    limit = hub.settings.max_body_bytes
    message = {"id": "1", "type": "subscribe", "payload": {"query": VIEWER}}
    room = limit - len(json.dumps(message).encode()) - 1
    message["payload"]["query"] = VIEWER + " " * room
    async with partner_socket(hub, "ngo-thailand") as ws:
        await ws.send(json.dumps(message))
        assert (await answered(ws, "1"))["data"]["viewer"]["clientId"]


async def test_operations_over_a_socket_share_the_clients_http_rate_limit(
    template: Template,
) -> None:
    async with serve_hub(template, rate_limit_graphql="3/minute") as hub:
        token = (await hub.fetch_token("ccpcr-shelter"))["access_token"]
        # One HTTP request and two socket operations use up the client's three.
        assert not (await hub.gql(None, VIEWER, token=token)).errors
        async with partner_socket(hub, None, token=token) as ws:
            for op in ("1", "2"):
                await start(ws, op, VIEWER)
                await answered(ws, op)
            await start(ws, "3", VIEWER)
            refused = await receive(ws)
            assert refused["type"] == "error" and refused["id"] == "3"
            (error,) = refused["payload"]
            assert error["extensions"]["code"] == "RATE_LIMITED"
            assert 1 <= error["extensions"]["retryAfter"] <= 60
            # The socket stays: the refusal concerns that operation only.
            await send(ws, {"type": "ping"})
            assert json.loads(await ws.recv()) == {"type": "pong"}
        over_http = await hub.gql(None, VIEWER, token=token)
        assert over_http.status == 429


async def test_a_legacy_operation_over_the_rate_limit_gets_an_error_message(
    template: Template,
) -> None:
    async with serve_hub(template, rate_limit_graphql="1/minute") as hub:
        token = (await hub.fetch_token("embassy-bangkok"))["access_token"]
        async with partner_socket(hub, None, token=token, protocol=LEGACY_WS) as ws:
            for op in ("1", "2"):
                await send(
                    ws,
                    {
                        "id": op,
                        "type": "start",
                        "payload": {"query": "subscription { events { id } }"},
                    },
                )
            refused = await receive(ws)
            assert (refused["type"], refused["id"]) == ("error", "2")
            assert refused["payload"]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_legacy_client_of_a_suspended_organisation_is_refused_for_good(
    hub: RunningHub,
) -> None:
    token = (await hub.fetch_token("ccpcr-shelter"))["access_token"]
    await ok(hub, "secretariat", SUSPEND, {"id": hub.members["ccpcr-shelter"].organization_id})
    async with connect(hub.ws_url, subprotocols=[LEGACY_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        code, seen = await closed_with(ws)
        assert (code, ws.close_reason) == (1008, "organisation not active")
    assert seen == [{"type": "connection_error"}]


async def test_a_legacy_message_over_the_limit_closes_the_socket_unread(hub: RunningHub) -> None:
    async with partner_socket(hub, "ngo-thailand", protocol=LEGACY_WS, max_size=None) as ws:
        query = "subscription { events { id } }" + " " * (hub.settings.max_body_bytes + 1)
        await send(ws, {"id": "1", "type": "start", "payload": {"query": query}})
        code, seen = await closed_with(ws)
        assert (code, ws.close_reason, seen) == (1009, "Message too big", [])
