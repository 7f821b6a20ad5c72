"""Suspension and disabling end what was issued before them, and client authentication gives
away nothing: a wrong secret and an unknown client get one answer at every OAuth endpoint, and
only a client that proved who it is learns that its organisation is not active."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect

from tests.api.event_support import REINSTATE, SUSPEND, TRANSPORT_WS, new_client, ok, send
from tests.api.test_event_access import DISABLE, client_token
from tests.api.test_websocket_auth import closed_with
from tests.network import RunningHub

VIEWER = "{ viewer { clientId } }"
ENDPOINTS = ("/oauth/token", "/oauth/introspect", "/oauth/revoke")
# Headers that differ between any two responses whatever they say.
_PER_RESPONSE = {"date", "x-request-id", "content-length"}


async def post(
    hub: RunningHub, path: str, auth: tuple[str, str] | None, **form: str
) -> httpx.Response:
    if path == "/oauth/token":
        form = {"grant_type": "client_credentials", **form}
    else:
        form = {"token": "not-a-token", **form}
    return await hub.http.post(path, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT)


def answer(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in _PER_RESPONSE}
    return response.status_code, response.content, headers


async def introspected_active(hub: RunningHub, token: str) -> bool:
    m = hub.members["secretariat"]
    response = await hub.http.post(
        "/oauth/introspect", data={"token": token}, auth=(m.client_id, m.client_secret)
    )
    assert response.status_code == 200
    return bool(response.json()["active"])


async def test_a_token_from_before_a_suspension_stays_dead_after_reinstatement(
    hub: RunningHub,
) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    old = (await hub.fetch_token("ccpcr-shelter"))["access_token"]
    assert (await hub.gql(None, VIEWER, token=old)).status == 200

    await ok(hub, "secretariat", SUSPEND, {"id": shelter})
    await ok(hub, "secretariat", REINSTATE, {"id": shelter})

    assert (await hub.gql(None, VIEWER, token=old)).status == 401
    assert not await introspected_active(hub, old)
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {old}"}})
        # A new token fixes it: the reference client retries with one.
        assert await closed_with(ws) == (4403, "Forbidden")
    # A token issued after the reinstatement works, even within the same second.
    fresh = (await hub.fetch_token("ccpcr-shelter"))["access_token"]
    result = await hub.gql(None, VIEWER, token=fresh)
    assert result.data == {"viewer": {"clientId": hub.members["ccpcr-shelter"].client_id}}
    assert await introspected_active(hub, fresh)


async def test_a_token_from_before_a_client_disable_stays_dead_if_the_client_is_enabled_again(
    hub: RunningHub,
) -> None:
    client_id, secret = await new_client(hub, "ngo-thailand", "field desk")
    old = (await client_token(hub, client_id, secret))["access_token"]
    assert (await hub.gql(None, VIEWER, token=old)).status == 200
    await ok(hub, "secretariat", DISABLE, {"id": client_id})
    # No operation enables a client again yet; an operator could, in the database.
    async with hub.db.write() as session:
        await session.execute(
            text("UPDATE api_clients SET enabled = true WHERE client_id = :c"),
            {"c": client_id},
        )
    assert (await hub.gql(None, VIEWER, token=old)).status == 401
    fresh = (await client_token(hub, client_id, secret))["access_token"]
    assert (await hub.gql(None, VIEWER, token=fresh)).data == {"viewer": {"clientId": client_id}}


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_suspended_organisations_client_that_authenticates_is_told_why(
    hub: RunningHub, path: str
) -> None:
    embassy = hub.members["embassy-beijing"]
    await ok(hub, "secretariat", SUSPEND, {"id": embassy.organization_id})

    right = await post(hub, path, (embassy.client_id, embassy.client_secret))
    assert right.status_code == 401
    assert right.json() == {
        "error": "invalid_client",
        "error_description": "organisation is not active",
    }
    # A wrong secret learns nothing about the organisation.
    wrong = await post(hub, path, (embassy.client_id, embassy.client_secret + "x"))
    assert wrong.json()["error_description"] == "client authentication failed"


async def test_a_disabled_client_that_authenticates_is_told_it_is_disabled(
    hub: RunningHub,
) -> None:
    client_id, secret = await new_client(hub, "adhoc", "old desk")
    await ok(hub, "secretariat", DISABLE, {"id": client_id})
    refused = await post(hub, "/oauth/token", (client_id, secret))
    assert (refused.status_code, refused.json()["error_description"]) == (
        401,
        "client is disabled",
    )


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("method", ["basic", "post"])
async def test_a_wrong_secret_and_an_unknown_client_get_one_identical_answer(
    hub: RunningHub, path: str, method: str
) -> None:
    shelter = hub.members["ccpcr-shelter"]
    tries = {
        "wrong secret": (shelter.client_id, "rhs_" + "x" * 43),
        "unknown client": ("rh_" + "y" * 16, "rhs_" + "x" * 43),
    }
    answers = {}
    for name, (client_id, secret) in tries.items():
        if method == "basic":
            response = await post(hub, path, (client_id, secret))
        else:
            response = await post(hub, path, None, client_id=client_id, client_secret=secret)
        answers[name] = answer(response)
    assert answers["wrong secret"] == answers["unknown client"]
    status, body, _ = answers["unknown client"]
    assert status == 401
    assert b"client authentication failed" in body


async def test_a_wrong_secret_and_an_unknown_client_take_about_as_long(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"]
    timings: dict[str, list[float]] = {"wrong": [], "unknown": []}
    for _ in range(15):
        for name, client_id in (("wrong", shelter.client_id), ("unknown", "rh_nobody12345678")):
            started = time.perf_counter()
            response = await post(hub, "/oauth/token", (client_id, "rhs_guess"))
            timings[name].append(time.perf_counter() - started)
            assert response.status_code == 401
    wrong, unknown = (statistics.median(timings[k]) for k in ("wrong", "unknown"))
    # Loose on purpose (a shared machine): a missing lookup or hash would show as a
    # consistent gap, not as noise within a factor of three.
    assert 1 / 3 < unknown / wrong < 3
