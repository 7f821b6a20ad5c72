"""Steps the live-event tests share: a partner's websocket, its events, and the outbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from notifications.models import Event
from notifications.pump import EventPump
from tests.api.registration_support import register_secret_client
from tests.api.test_cases_flow import CONSENT, open_case
from tests.api.test_referral_flow import SEND
from tests.marker_watch import planted
from tests.network import RunningHub

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEGACY_WS = Subprotocol("graphql-ws")
WAIT = 10.0

EVENT_FIELDS = "id topic type subjectId actorOrganizationId occurredAt payload"
EVENTS = (
    "subscription($after: String, $topics: [EventTopic!]) "
    f"{{ events(after: $after, topics: $topics) {{ {EVENT_FIELDS} }} }}"
)
POLL = (
    "query($after: String, $first: Int!, $topics: [EventTopic!]) "
    "{ events(after: $after, first: $first, topics: $topics) { events { id type } endCursor } }"
)
SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }'
REINSTATE = 'mutation($id: ID!) { reinstateOrganization(id: $id, reason: "cleared") { status } }'
CASE_STATUS = (
    "mutation($id: ID!, $status: CaseStatus!) "
    "{ updateCaseStatus(caseId: $id, status: $status) { status } }"
)


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next protocol message, skipping keep-alives; a test never waits forever."""
    async with asyncio.timeout(WAIT):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] not in ("ka", "ping", "pong"):
                return message


@asynccontextmanager
async def partner_socket(
    hub: RunningHub,
    member: str | None,
    *,
    token: str | None = None,
    protocol: Subprotocol = TRANSPORT_WS,
    **options: Any,
) -> AsyncIterator[ClientConnection]:
    """A partner's websocket, authenticated in connection_init and acknowledged."""
    bearer = token or await hub.token(str(member))
    async with connect(hub.ws_url, subprotocols=[protocol], **options) as ws:
        await send(
            ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {bearer}"}}
        )
        assert (await receive(ws))["type"] == "connection_ack"
        yield ws


async def start(
    ws: ClientConnection, op: str, query: str = EVENTS, variables: dict[str, Any] | None = None
) -> None:
    """Start an operation over graphql-transport-ws."""
    await send(
        ws,
        {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}},
    )


async def next_events(ws: ClientConnection, count: int, op: str = "1") -> list[dict[str, Any]]:
    """The next ``count`` events of operation ``op`` (other operations' messages are skipped)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        message = await receive(ws)
        if message.get("id") != op:
            continue
        assert message["type"] in ("next", "data"), message
        assert "errors" not in message["payload"], message
        (value,) = message["payload"]["data"].values()
        found.append(value)
    return found


async def closed_with(ws: ClientConnection) -> tuple[int, list[dict[str, Any]]]:
    """Read until the server closes; its close code and every message before it."""
    seen: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(WAIT):
            while True:
                seen.append(json.loads(await ws.recv()))
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd.code, [m for m in seen if m["type"] not in ("ka", "ping", "pong")]


def pump_of(hub: RunningHub) -> EventPump:
    pump: EventPump = hub.app.state.hub.pump
    return pump


async def until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    """Wait for something the hub does in the background, never longer than ``seconds``."""
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)
    assert condition(), what


async def registered(hub: RunningHub, count: int) -> None:
    """Wait until ``count`` subscriptions are registered with the pump (they are then live)."""
    pump = pump_of(hub)
    await until(lambda: pump.subscriber_count == count, f"{count} subscriptions registered")


async def head(hub: RunningHub) -> int:
    return int(await hub.scalar("SELECT COALESCE(MAX(id), 0) FROM events"))


async def counts(hub: RunningHub, *tables: str) -> dict[str, int]:
    return {t: int(await hub.scalar(f"SELECT COUNT(*) FROM {t}")) for t in tables}


async def outbox(hub: RunningHub, after: int = 0) -> list[Event]:
    async with hub.db.read() as session:
        return list(await session.scalars(select(Event).where(Event.id > after).order_by(Event.id)))


async def visible_ids(
    hub: RunningHub, member: str, after: int, topics: set[str] | None = None
) -> list[int]:
    """What the `events` table says ``member`` should receive after ``after``, in order."""
    org = hub.members[member].organization_id
    return [
        row.id
        for row in await outbox(hub, after)
        if org in row.audience and (topics is None or row.topic in topics)
    ]


def ids(events: list[dict[str, Any]]) -> list[int]:
    found = [int(e["id"]) for e in events]
    assert found == sorted(set(found)), f"ids not strictly increasing: {found}"
    return found


async def ok(hub: RunningHub, who: str, query: str, variables: dict[str, Any]) -> Any:
    result = await hub.gql(who, query, variables)
    assert not result.errors, result.errors
    return result.data


async def flip(hub: RunningHub, member: str, times: int) -> None:
    """The secretariat suspends or reinstates ``member``, ``times`` times in turn."""
    org = hub.members[member].organization_id
    status = await hub.scalar("SELECT status FROM organizations WHERE id = :id", id=org)
    for n in range(times):
        suspend = (n % 2 == 0) == (status == "ACTIVE")
        await ok(hub, "secretariat", SUSPEND if suspend else REINSTATE, {"id": org})


async def new_client(hub: RunningHub, member: str, name: str) -> tuple[str, str]:
    """``member`` registers another OAuth client of its own (RFC 7591): (id, secret)."""
    return await register_secret_client(hub, member, name, ["orgs:read", "events:subscribe"])


async def refer(
    hub: RunningHub,
    sender: str,
    receiver: str,
    services: list[str],
    purpose: str,
    key: str,
    case_id: str | None = None,
) -> tuple[str, str]:
    """``sender`` opens a case (unless given), records consent and refers it: (case, referral)."""
    case = case_id or await open_case(hub, owner=sender)
    receiver_org = hub.members[receiver].organization_id
    consent = {
        "caseId": case,
        "grantor": "SURVIVOR",
        "method": "WRITTEN",
        "purposes": [purpose],
        "categories": ["IDENTITY", "LEGAL"],
        "recipientOrganizationIds": [receiver_org],
    }
    await ok(hub, sender, CONSENT, {"input": consent})
    referral = {
        "caseId": case,
        "receivingOrganizationId": receiver_org,
        "services": services,
        "urgency": "URGENT",
        "reason": planted("wants to file a complaint against the broker"),
        "idempotencyKey": key,
    }
    data = await ok(hub, sender, SEND, {"input": referral})
    return case, str(data["sendReferral"]["id"])


async def poll_all(hub: RunningHub, member: str, after: int, first: int) -> list[int]:
    """A polling client pages through the stream until it is caught up."""
    found: list[int] = []
    cursor = str(after)
    while True:
        page = (await ok(hub, member, POLL, {"after": cursor, "first": first}))["events"]
        if not page["events"]:
            return found
        assert len(page["events"]) <= first
        found += [int(e["id"]) for e in page["events"]]
        cursor = page["endCursor"]


def codes_of(message: dict[str, Any]) -> list[str]:
    """Error codes of an `error` message (a list of errors) or of a `next` carrying errors."""
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload.get("errors", [])
    return [e.get("extensions", {}).get("code") for e in errors]
