"""A partner keeps a live view: replay from its last event id, then live delivery."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.network import RunningHub

SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }'
REINSTATE = 'mutation($id: ID!) { reinstateOrganization(id: $id, reason: "cleared") { status } }'


async def subscribe(
    hub: RunningHub, member: str, query: str, variables: dict[str, Any] | None = None
) -> ClientConnection:
    token = await hub.token(member)
    ws = await connect(hub.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack"
    await ws.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
    )
    return ws


async def next_event(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] == "next":
            assert "errors" not in message["payload"], message
            return dict(message["payload"]["data"]["events"])
        assert message["type"] not in ("error", "complete"), message


async def test_the_secretariat_sees_membership_changes_live_and_after_reconnecting(
    hub: RunningHub,
) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    ws = await subscribe(
        hub, "secretariat", "subscription { events(topics: [ORGANIZATION]) { id type subjectId } }"
    )
    await asyncio.sleep(0.2)
    done = await hub.gql("secretariat", SUSPEND, {"id": shelter})
    assert not done.errors
    first = await next_event(ws)
    assert first["type"] == "ORGANIZATION_SUSPENDED" and first["subjectId"] == shelter
    await ws.close()

    missed = await hub.gql("secretariat", REINSTATE, {"id": shelter})
    assert not missed.errors
    ws = await subscribe(
        hub,
        "secretariat",
        "subscription($after: String) { events(after: $after, topics: [ORGANIZATION]) { id type } }",
        {"after": first["id"]},
    )
    replayed = await next_event(ws)
    assert replayed["type"] == "ORGANIZATION_REINSTATED"
    assert int(replayed["id"]) > int(first["id"])
    await ws.close()


async def test_suspension_closes_the_suspended_organisations_socket(hub: RunningHub) -> None:
    ws = await subscribe(hub, "ccpcr-shelter", "subscription { events { id type } }")
    await asyncio.sleep(0.2)
    shelter = hub.members["ccpcr-shelter"].organization_id
    await hub.gql("secretariat", SUSPEND, {"id": shelter})
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except Exception:
        pass
    assert ws.close_code == 1008
