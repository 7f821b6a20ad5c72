"""Subscribers who would be sent exactly the same thing share one execution per event, and
sharing never crosses visibility: another organisation, another scope set, another token's
lifetime each get what is theirs."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from websockets.asyncio.client import ClientConnection

from tests.api.event_support import (
    EVENTS,
    WAIT,
    closed_with,
    flip,
    head,
    ids,
    next_events,
    partner_socket,
    pump_of,
    receive,
    refer,
    registered,
    start,
    visible_ids,
)
from tests.api.test_cases_flow import open_case
from tests.network import RunningHub, Template, serve_hub

# No `after`: live from now, the shape a dashboard or partner system keeps open.
LIVE = "subscription($topics: [EventTopic!]) { events(topics: $topics) { id type subjectId } }"


async def raw_next(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    """The next ``count`` ``next`` messages exactly as sent (id and payload)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        message = await receive(ws)
        assert message["type"] == "next", message
        found.append(message)
    return found


async def test_two_sockets_of_one_organisation_share_and_another_organisation_gets_its_own(
    hub: RunningHub,
) -> None:
    cursor = await head(hub)
    first = (await hub.fetch_token("ccpcr-koh-kong"))["access_token"]
    second = (await hub.fetch_token("ccpcr-koh-kong"))["access_token"]
    async with (
        partner_socket(hub, None, token=first) as koh_kong_a,
        partner_socket(hub, None, token=second) as koh_kong_b,
        partner_socket(hub, "adhoc") as adhoc,
        partner_socket(hub, "ngo-malaysia") as outsider,
    ):
        for ws, op in ((koh_kong_a, "a"), (koh_kong_b, "b"), (adhoc, "a"), (outsider, "a")):
            await start(ws, op, LIVE, {"topics": ["CASE", "REFERRAL"]})
        await registered(hub, 4)
        # One execution for the two Koh Kong sockets, one each for ADHOC and the outsider.
        assert pump_of(hub).stream_count == 3

        _, referral = await refer(
            hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "shared-kk-adhoc"
        )
        topics = {"CASE", "REFERRAL"}
        for_koh_kong = await visible_ids(hub, "ccpcr-koh-kong", cursor, topics)
        for_adhoc = await visible_ids(hub, "adhoc", cursor, topics)
        assert for_adhoc and set(for_adhoc) < set(for_koh_kong)  # the case opening is not ADHOC's
        assert await visible_ids(hub, "ngo-malaysia", cursor, topics) == []

        got_a = await raw_next(koh_kong_a, len(for_koh_kong))
        got_b = await raw_next(koh_kong_b, len(for_koh_kong))
        # The same payload, each under its own subscription id.
        assert [m["id"] for m in got_a] == ["a"] * len(for_koh_kong)
        assert [m["id"] for m in got_b] == ["b"] * len(for_koh_kong)
        assert [m["payload"] for m in got_a] == [m["payload"] for m in got_b]
        assert ids([m["payload"]["data"]["events"] for m in got_a]) == for_koh_kong
        seen_by_adhoc = await next_events(adhoc, len(for_adhoc), "a")
        assert ids(seen_by_adhoc) == for_adhoc
        assert referral in {e["subjectId"] for e in seen_by_adhoc}

        # The outsider's first message is its own case, nothing of the referral before it.
        own_case = await open_case(hub, owner="ngo-malaysia")
        (own,) = await next_events(outsider, 1, "a")
        assert (own["subjectId"], int(own["id"])) == (own_case, await head(hub))


async def test_a_scope_set_is_its_own_audience_and_a_missing_scope_is_refused_alone(
    hub: RunningHub,
) -> None:
    narrow = await hub.token("secretariat", scope="orgs:read")
    events_only = await hub.token("secretariat", scope="events:subscribe")
    async with (
        partner_socket(hub, "secretariat") as full,
        partner_socket(hub, None, token=events_only) as listener,
        partner_socket(hub, None, token=narrow) as refused,
    ):
        for ws in (full, listener, refused):
            await start(ws, "1", LIVE, {"topics": ["ORGANIZATION"]})
        answer = await receive(refused)
        assert answer["id"] == "1" and answer["type"] in ("next", "error"), answer
        payload = answer["payload"]
        errors = payload if isinstance(payload, list) else payload["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
        await registered(hub, 2)
        assert pump_of(hub).stream_count == 2  # two scope sets, two executions

        await flip(hub, "embassy-beijing", 2)
        expected = (await visible_ids(hub, "secretariat", await head(hub) - 2))[-2:]
        assert ids(await next_events(full, 2)) == expected
        assert ids(await next_events(listener, 2)) == expected
        with_nothing = asyncio.wait_for(refused.recv(), 0.5)
        try:
            stray = json.loads(await with_nothing)
        except TimeoutError:
            stray = None
        assert stray is None or stray["type"] in ("complete", "ping", "pong"), stray


async def test_a_revoked_token_ends_its_member_and_the_audience_goes_on(hub: RunningHub) -> None:
    revoked = (await hub.fetch_token("ngo-thailand"))["access_token"]
    kept = (await hub.fetch_token("ngo-thailand"))["access_token"]
    async with (
        partner_socket(hub, None, token=revoked) as old,
        partner_socket(hub, None, token=kept) as new,
    ):
        await start(old, "1", LIVE, {"topics": ["ORGANIZATION"]})
        await start(new, "1", LIVE, {"topics": ["ORGANIZATION"]})
        await registered(hub, 2)
        assert pump_of(hub).stream_count == 1

        async with hub.oauth_client("ngo-thailand") as client:
            response = await client.revoke_token(f"{hub.base_url}/oauth/revoke", token=revoked)
        assert response.status_code == 200

        code, before = await closed_with(old)
        assert code == 4403 and [m for m in before if m["type"] == "next"] == []
        (seen,) = await next_events(new, 1)
        assert seen["type"] == "TOKEN_REVOKED"
        await registered(hub, 1)
        assert pump_of(hub).stream_count == 1


async def test_each_member_ends_when_its_own_token_expires(template: Template) -> None:
    async with serve_hub(template, access_token_ttl=6) as hub:
        early = await hub.fetch_token("secretariat")
        await asyncio.sleep(3.0)
        late = await hub.fetch_token("secretariat")
        async with (
            partner_socket(hub, None, token=early["access_token"]) as first,
            partner_socket(hub, None, token=late["access_token"]) as second,
        ):
            await start(first, "1", LIVE, {"topics": ["ORGANIZATION"]})
            await start(second, "1", LIVE, {"topics": ["ORGANIZATION"]})
            await registered(hub, 2)
            assert pump_of(hub).stream_count == 1

            code, _ = await closed_with(first)
            assert code == 4403 and time.time() >= early["expires_at"] - 0.01
            assert time.time() < late["expires_at"]
            # The other member, whose token still runs, still receives events.
            fresh = (await hub.fetch_token("secretariat"))["access_token"]
            beijing = hub.members["embassy-beijing"].organization_id
            suspend = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "x") { status } }'
            assert not (await hub.gql(None, suspend, {"id": beijing}, token=fresh)).errors
            async with asyncio.timeout(WAIT):
                (seen,) = await next_events(second, 1)
            assert seen["type"] == "ORGANIZATION_SUSPENDED"
            code, _ = await closed_with(second)
            assert code == 4403 and time.time() >= late["expires_at"] - 0.01


async def test_subscribing_with_a_cursor_replays_on_its_own_then_joins_nobody(
    hub: RunningHub,
) -> None:
    cursor = await head(hub)
    await flip(hub, "embassy-beijing", 2)
    async with (
        partner_socket(hub, "secretariat") as live,
        partner_socket(hub, "secretariat") as replaying,
    ):
        await start(live, "1", EVENTS, {"topics": ["ORGANIZATION"]})
        await start(replaying, "1", EVENTS, {"topics": ["ORGANIZATION"], "after": str(cursor)})
        await registered(hub, 2)
        assert pump_of(hub).stream_count == 2
        missed = await visible_ids(hub, "secretariat", cursor, {"ORGANIZATION"})
        assert ids(await next_events(replaying, len(missed))) == missed
        await flip(hub, "embassy-beijing", 1)
        (one,) = await next_events(live, 1)
        (same,) = await next_events(replaying, 1)
        assert one == same and int(one["id"]) == await head(hub)
