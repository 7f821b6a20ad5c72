"""Many sockets at once: token checks share one key-set load and few pooled connections;
forged key ids cost one reload, not one per token; an outage on an open socket ends it
with 1013 (Try Again Later), never with an HTTP answer on the websocket."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from gateway.app import Hub
from gateway.oauth.verify import _UNKNOWN_KID_COOLDOWN
from gateway.outage import outage_handlers
from store.engine import Database
from tests.api.test_websocket_auth import TRANSPORT_WS, closed_with, receive, send
from tests.network import RunningHub, _free_socket

STORM = 200
VIEWER = "{ viewer { clientId } }"


def hub_of(running: RunningHub) -> Hub:
    hub: Hub = running.app.state.hub
    return hub


@contextmanager
def pool_peak(db: Database) -> Iterator[list[int]]:
    """The most pooled connections checked out at once while the block runs."""
    state = {"out": 0}
    peak = [0]

    def checkout(*_: Any) -> None:
        state["out"] += 1
        peak[0] = max(peak[0], state["out"])

    def checkin(*_: Any) -> None:
        state["out"] -= 1

    pool = db.engine.sync_engine.pool
    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield peak
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


async def init(ws: ClientConnection, token: str) -> dict[str, Any]:
    await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    return await receive(ws)


def forged(issuer: str, audience: str) -> str:
    """A well-formed access token signed by a key the hub never published."""
    kid = uuid.uuid4().hex
    key = ECKey.generate_key("P-256", parameters={"kid": kid})
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": "forger",
        "client_id": "forger",
        "org": "forger",
        "scope": "cases:read",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 300,
    }
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, key)


async def test_a_storm_of_connection_inits_loads_the_key_set_once(hub: RunningHub) -> None:
    token = await hub.token("ccpcr-shelter")
    state = hub_of(hub)
    sockets = [
        await connect(hub.ws_url, subprotocols=[TRANSPORT_WS], open_timeout=60)
        for _ in range(STORM)
    ]
    try:
        # Given the key set is due for a reload when every socket says connection_init
        state.keyring.mark_stale()
        loads = state.keyring.loads
        with pool_peak(state.db) as peak:
            answers = await asyncio.gather(*(init(ws, token) for ws in sockets))
        # Then all are accepted, after one load and with a handful of connections
        assert [a["type"] for a in answers] == ["connection_ack"] * STORM
        assert state.keyring.loads - loads == 1
        assert 1 <= peak[0] <= 4, peak
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))


async def test_concurrent_verifies_share_one_load_and_one_revocation_query(
    hub: RunningHub,
) -> None:
    tokens = [await hub.token(member) for member in ("ccpcr-shelter", "adhoc")]
    state = hub_of(hub)
    state.keyring.mark_stale()
    loads = state.keyring.loads
    with pool_peak(state.db) as peak:
        principals = await asyncio.gather(
            *(state.verifier.verify(tokens[i % 2]) for i in range(STORM))
        )
    assert {p.client_id for p in principals} == {
        hub.members[m].client_id for m in ("ccpcr-shelter", "adhoc")
    }
    assert state.keyring.loads - loads == 1
    assert 1 <= peak[0] <= 4, peak


async def test_a_storm_of_unknown_key_ids_costs_one_reload_and_is_refused(
    hub: RunningHub,
) -> None:
    state = hub_of(hub)
    tokens = [forged(hub.settings.issuer, hub.settings.audience) for _ in range(STORM)]
    await hub.gql("ccpcr-shelter", VIEWER)  # the key set is loaded before the storm
    reloads = state.verifier.unknown_kid_reloads
    started = time.monotonic()

    def bound() -> int:
        """One reload per cooldown the storm lasted (it may outlast one on a busy box)."""
        return 1 + int((time.monotonic() - started) / _UNKNOWN_KID_COOLDOWN)

    async def ask(token: str) -> httpx.Response:
        return await hub.http.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
        )

    answers = await asyncio.gather(*(ask(t) for t in tokens))
    assert {a.status_code for a in answers} == {401}
    for answer in answers:
        assert [e["extensions"]["code"] for e in answer.json()["errors"]] == ["UNAUTHENTICATED"]
    assert 1 <= state.verifier.unknown_kid_reloads - reloads <= bound()

    # And the same over sockets, right after: no more reloads within the cooldown
    sockets = [await connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) for _ in range(20)]
    try:
        for ws, token in zip(sockets, tokens, strict=False):
            await send(
                ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            )
        codes = await asyncio.gather(*(closed_with(ws) for ws in sockets))
        assert {code for code, _ in codes} == {4403}
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    assert 1 <= state.verifier.unknown_kid_reloads - reloads <= bound()

    # A genuine token still works meanwhile (its kid is known)
    good = await hub.gql("ccpcr-shelter", VIEWER)
    assert good.status == 200 and "errors" not in good.body


async def test_an_outage_on_an_open_socket_closes_it_with_1013(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await hub.token("ccpcr-shelter")
    state = hub_of(hub)
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        assert (await init(ws, token))["type"] == "connection_ack"

        # When the pool cannot hand out a connection (the storm's failure) at subscribe
        @asynccontextmanager
        async def exhausted() -> AsyncIterator[Any]:
            raise sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")
            yield  # pragma: no cover

        monkeypatch.setattr(state.db, "read", exhausted)
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": VIEWER}})
        assert await closed_with(ws) == (1013, "Try Again Later")
    monkeypatch.undo()
    # And the hub serves sockets again once the database is back
    async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        assert (await init(ws, token))["type"] == "connection_ack"


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    import uvicorn

    sock = _free_socket()
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_an_outage_escaping_on_a_websocket_never_answers_with_http() -> None:
    async def after_accept(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        raise sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")

    async def before_accept(_websocket: WebSocket) -> None:
        raise sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")

    app = Starlette(
        routes=[WebSocketRoute("/open", after_accept), WebSocketRoute("/opening", before_accept)],
        exception_handlers=outage_handlers(),
    )
    async with serve(app) as base:
        # An open socket is closed with 1013
        async with connect(f"{base}/open") as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert await closed_with(ws) == (1013, "Try Again Later")
        # A handshake is refused with 503 and Retry-After
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{base}/opening")
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"].isdigit()
