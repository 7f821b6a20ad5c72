"""graphql-transport-ws as its protocol says: a bad operation gets an `error` message for its
id and the socket lives on; a hub that shuts down says goodbye with 1001, as documented."""

from __future__ import annotations

import asyncio
import json

from tests.api.event_support import (
    CASE_STATUS,
    closed_with,
    next_events,
    partner_socket,
    receive,
    send,
    start,
)
from tests.api.test_cases_flow import open_case
from tests.network import RunningHub, Template, serve_hub

OWNER = "ccpcr-koh-kong"
CASE_EVENTS = "subscription($id: ID!) { caseStatus(caseId: $id) { id type } }"


async def test_a_bad_operation_gets_an_error_and_the_socket_and_its_other_subscriptions_stay(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub, OWNER)
    async with partner_socket(hub, OWNER) as ws:
        await start(ws, "live", CASE_EVENTS, {"id": case_id})
        await asyncio.sleep(0.2)  # registered before the mistakes below

        mistakes = {
            "syntax": ("subscription { events(", None),
            "unknown-field": ("subscription { events { noSuchField } }", None),
            "no-such-operation": ("subscription A { events { id } }", "B"),
            "planted": ('subscription { events(after: "Sok Dara 012 345 678" { id } }', None),
        }
        for op, (query, name) in mistakes.items():
            payload = {"query": query, "variables": {}, "operationName": name}
            await send(ws, {"id": op, "type": "subscribe", "payload": payload})
            message = await receive(ws)
            assert message["id"] == op and message["type"] == "error", message
            assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]
            assert message["payload"][0]["message"], message
            assert "Sok Dara" not in json.dumps(message)

        # The id of a refused operation is free again, and the socket still works.
        await send(
            ws,
            {
                "id": "syntax",
                "type": "subscribe",
                "payload": {"query": "{ __typename }", "variables": {}},
            },
        )
        answer = await receive(ws)
        assert answer == {
            "id": "syntax",
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }
        assert (await receive(ws)) == {"id": "syntax", "type": "complete"}

        moved = await hub.gql(OWNER, CASE_STATUS, {"id": case_id, "status": "IN_CARE"})
        assert not moved.errors, moved.errors
        (event,) = await next_events(ws, 1, "live")
        assert event["type"] == "CASE_STATUS_CHANGED"


async def test_shutdown_closes_every_socket_with_1001(template: Template) -> None:
    async with serve_hub(template) as hub:
        case_id = await open_case(hub, OWNER)
        async with (
            partner_socket(hub, OWNER) as subscribed,
            partner_socket(hub, OWNER) as idle,
        ):
            await start(subscribed, "live", CASE_EVENTS, {"id": case_id})
            await asyncio.sleep(0.2)
            assert hub.server is not None
            hub.server.should_exit = True
            for ws in (subscribed, idle):
                code, messages = await closed_with(ws)
                assert code == 1001, (code, messages)
                assert ws.close_reason == "hub restarting"
