"""Who may keep listening: access is decided again while a socket is open, and a partner that
is cut off for being slow or for an expired token resumes by replay with nothing lost."""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
from authlib.integrations.httpx_client import AsyncOAuth2Client
from websockets.asyncio.client import connect

from notifications.outbox import emit
from tests.api.event_support import (
    EVENTS,
    REINSTATE,
    SUSPEND,
    TRANSPORT_WS,
    closed_with,
    flip,
    head,
    ids,
    new_client,
    next_events,
    ok,
    partner_socket,
    pump_of,
    registered,
    send,
    start,
    until,
    visible_ids,
)
from tests.network import RunningHub, Template, serve_hub

DISABLE = "mutation($id: String!) { disableClient(clientId: $id) { enabled } }"


def events_in(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["payload"]["data"]["events"] for m in messages if m["type"] == "next"]


async def client_token(hub: RunningHub, client_id: str, secret: str) -> dict[str, Any]:
    """A token for a client that is not one of the demo members' own, fetched by authlib."""
    async with AsyncOAuth2Client(client_id, secret) as client:
        token: dict[str, Any] = await client.fetch_token(
            hub.token_url, grant_type="client_credentials"
        )
    return token


async def test_a_suspended_shelter_is_cut_off_at_once_even_with_nothing_to_deliver(
    template: Template,
) -> None:
    # The slow poll is out of the picture: only the suspension itself can close the socket.
    async with serve_hub(template, event_poll_interval=30.0) as hub:
        shelter = hub.members["ccpcr-shelter"].organization_id
        token = await hub.token("ccpcr-shelter")
        async with (
            partner_socket(hub, "ccpcr-shelter") as ws,
            partner_socket(hub, "secretariat") as bystander,
        ):
            await start(ws, "1", EVENTS, {"topics": ["CASE"]})  # the suspension is no CASE event
            await start(bystander, "1", EVENTS, {"topics": ["ORGANIZATION"]})
            await registered(hub, 2)

            await ok(hub, "secretariat", SUSPEND, {"id": shelter})

            code, before = await closed_with(ws)
            assert (code, before) == (1008, [])
            (seen,) = await next_events(bystander, 1)
            assert (seen["type"], seen["subjectId"]) == ("ORGANIZATION_SUSPENDED", shelter)

        # Coming back with the same token does not work either.
        async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
            await send(
                ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            )
            assert (await closed_with(ws))[0] == 1008


async def test_disabling_one_client_closes_its_socket_and_not_its_colleagues(
    hub: RunningHub,
) -> None:
    client_id, secret = await new_client(hub, "ngo-thailand", "border desk")
    token = (await client_token(hub, client_id, secret))["access_token"]
    async with (
        partner_socket(hub, None, token=token) as desk,
        partner_socket(hub, "ngo-thailand") as office,
    ):
        await start(desk, "1")
        await start(office, "1")
        await registered(hub, 2)

        await ok(hub, "secretariat", DISABLE, {"id": client_id})

        code, before = await closed_with(desk)
        assert code == 1008 and events_in(before) == []
        (seen,) = await next_events(office, 1)
        assert (seen["type"], seen["payload"]["clientId"]) == ("CLIENT_DISABLED", client_id)


async def test_a_revoked_token_ends_its_socket_and_only_that_one(hub: RunningHub) -> None:
    member = hub.members["ngo-thailand"]
    revoked = (await hub.fetch_token("ngo-thailand"))["access_token"]
    kept = (await hub.fetch_token("ngo-thailand"))["access_token"]
    async with (
        partner_socket(hub, None, token=revoked) as old,
        partner_socket(hub, None, token=kept) as new,
    ):
        await start(old, "1")
        await start(new, "1")
        await registered(hub, 2)

        async with hub.oauth_client("ngo-thailand") as client:
            response = await client.revoke_token(f"{hub.base_url}/oauth/revoke", token=revoked)
        assert response.status_code == 200

        code, before = await closed_with(old)
        assert code == 4403 and events_in(before) == []
        (seen,) = await next_events(new, 1)
        assert seen["type"] == "TOKEN_REVOKED" and seen["payload"]["clientId"] == member.client_id
        assert (
            seen["payload"]["jti"]
            == pyjwt.decode(revoked, options={"verify_signature": False})["jti"]
        )


async def test_an_expiring_token_ends_the_socket_and_a_new_token_resumes_where_it_stopped(
    template: Template,
) -> None:
    async with serve_hub(template, access_token_ttl=2) as hub:
        beijing = hub.members["embassy-beijing"].organization_id

        async def as_secretariat(query: str) -> None:
            fresh = (await hub.fetch_token("secretariat"))["access_token"]
            assert not (await hub.gql(None, query, {"id": beijing}, token=fresh)).errors

        cursor = await head(hub)
        token = await hub.fetch_token("secretariat")
        async with partner_socket(hub, None, token=token["access_token"]) as ws:
            await start(ws, "1", EVENTS, {"after": str(cursor)})
            await as_secretariat(SUSPEND)
            (first,) = await next_events(ws, 1)
            code, after = await closed_with(ws)
            assert time.time() >= token["expires_at"] - 0.01
        assert (code, events_in(after)) == (4403, [])

        await as_secretariat(REINSTATE)  # while the partner fetches a new token
        renewed = (await hub.fetch_token("secretariat"))["access_token"]
        async with partner_socket(hub, None, token=renewed) as ws:
            await start(ws, "1", EVENTS, {"after": first["id"]})
            (missed,) = await next_events(ws, 1)
        assert missed["type"] == "ORGANIZATION_REINSTATED"
        assert [int(first["id"]), int(missed["id"])] == await visible_ids(
            hub, "secretariat", cursor
        )


async def test_a_subscriber_too_slow_for_its_queue_is_cut_off_and_replays_the_rest(
    template: Template,
) -> None:
    async with serve_hub(template, subscriber_queue=3, event_poll_interval=30.0) as hub:
        secretariat = hub.members["secretariat"].organization_id
        cursor = await head(hub)
        async with partner_socket(hub, "secretariat", compression=None) as ws:
            await start(ws, "1", EVENTS, {"after": str(cursor)})
            await registered(hub, 1)
            # Twenty events committed together (as a bulk import would) while the partner
            # reads nothing: far more than the three its queue may hold.
            async with hub.db.write() as session:
                for n in range(20):
                    await emit(
                        session,
                        topic="ORGANIZATION",
                        type="SERVICE_PUBLISHED",
                        subject_id=f"offer-{n}",
                        actor_organization_id=secretariat,
                        audience=[secretariat],
                        payload={"organizationId": secretariat},
                    )
            expected = await visible_ids(hub, "secretariat", cursor)
            assert len(expected) == 20
            pump = pump_of(hub)
            await until(lambda: pump.last_id >= expected[-1], "the pump fanned the burst out")

            code, before = await closed_with(ws)
        assert code == 4499
        got = ids(events_in(before))
        assert len(got) < 20 and got == expected[: len(got)]

        last = str(got[-1]) if got else str(cursor)
        async with partner_socket(hub, "secretariat") as ws:
            await start(ws, "1", EVENTS, {"after": last})
            rest = ids(await next_events(ws, 20 - len(got)))
            assert got + rest == expected
            await flip(hub, "embassy-beijing", 1)
            (live,) = await next_events(ws, 1)
            assert int(live["id"]) == await head(hub)
