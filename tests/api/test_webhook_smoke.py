"""A partner without a live connection gets signed webhooks."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from standardwebhooks import Webhook as Verifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from notifications.webhooks import WebhookDispatcher
from tests.network import RunningHub


async def test_a_membership_change_reaches_the_partner_signed(hub: RunningHub) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", receive, methods=["POST"])]), log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        created = await hub.gql(
            "secretariat",
            "mutation($url: String!) { createWebhook(input: {url: $url, topics: [ORGANIZATION]}) { webhook { id } signingSecret } }",
            {"url": f"http://127.0.0.1:{port}/hook"},
        )
        assert not created.errors, created.errors
        secret = created.data["createWebhook"]["signingSecret"]
        shelter = hub.members["ccpcr-shelter"].organization_id
        await hub.gql(
            "secretariat",
            'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }',
            {"id": shelter},
        )
        dispatcher = WebhookDispatcher(hub.db, hub.app.state.hub.cipher, public_only=False)
        try:
            enqueued, tried = await dispatcher.run_once()
        finally:
            await dispatcher.close()
        assert (enqueued, tried) == (1, 1)
        headers, body = received[0]
        payload: Any = Verifier(secret).verify(body, headers)
        assert payload["type"] == "ORGANIZATION_SUSPENDED"
        deliveries = await hub.gql(
            "secretariat",
            "query($id: ID!) { webhookDeliveries(webhookId: $id) { status attempts { result } } }",
            {"id": created.data["createWebhook"]["webhook"]["id"]},
        )
        assert deliveries.data["webhookDeliveries"] == [
            {"status": "DELIVERED", "attempts": [{"result": "SUCCESS_2XX"}]}
        ]
    finally:
        server.should_exit = True
        await task
        sock.close()
