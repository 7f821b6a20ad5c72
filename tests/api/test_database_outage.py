"""A database that restarts under load: partners see 503 UNAVAILABLE with Retry-After and
retry, never a 500; no acknowledged write is lost; the hub recovers by itself; the log says
once per outage that the database is gone. Runs against a private PostgreSQL server that
the test starts, stops and removes itself (never the shared cluster)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.oauth.keys import ensure_signing_key
from orgs.demo import seed_demo_network
from store.engine import Database
from store.migrate import upgrade
from tests.api.test_disclosure_chain import OWNER, READERS, consented_case
from tests.network import RunningHub, Template, backend, base_settings, serve_hub
from tests.private_postgres import PrivatePostgres, available

pytestmark = pytest.mark.skipif(
    backend() != "postgresql" or not available(),
    reason="restarts a private PostgreSQL server (run with HUB_TEST_DATABASE_URL set)",
)

CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
NEW_CASE = {"input": {"ageBand": "AGE_18_20", "sex": "MALE"}}
READ = "{ cases { edges { node { id fullName } } } }"
VIEWER = "{ viewer { clientId } }"
OUTAGES = 2


class PrivateTemplate(Template):
    """The private server's one database, served as it is (nothing to copy or drop)."""

    async def copy(self) -> str:
        return self.url

    async def drop(self, url: str) -> None:
        return None


@pytest.fixture
async def private(tmp_path: Any) -> AsyncIterator[tuple[PrivatePostgres, PrivateTemplate]]:
    server = PrivatePostgres()
    try:
        await asyncio.to_thread(server.start)
        admin = create_async_engine(server.url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text('CREATE DATABASE "hub"'))
        await admin.dispose()
        url = server.url("hub")
        await upgrade(url)
        db = Database(url)
        try:
            await ensure_signing_key(db, base_settings(url))
            members = await seed_demo_network(db)
        finally:
            await db.dispose()
        yield server, PrivateTemplate(url=url, members=members, workdir=tmp_path)
    finally:
        await asyncio.to_thread(server.remove)


@dataclass
class Load:
    answers: list[httpx.Response] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def writer(self, hub: RunningHub, token: str) -> None:
        while not self.stop.is_set():
            answer = await hub.http.post(
                "/graphql",
                json={"query": CREATE, "variables": NEW_CASE},
                headers={"Authorization": f"Bearer {token}"},
            )
            self.answers.append(answer)
            if answer.status_code == 200 and not answer.json().get("errors"):
                self.acknowledged.append(answer.json()["data"]["createCase"]["id"])
            await asyncio.sleep(0.01)

    async def reader(self, hub: RunningHub, token: str) -> None:
        while not self.stop.is_set():
            answer = await hub.http.post(
                "/graphql", json={"query": READ}, headers={"Authorization": f"Bearer {token}"}
            )
            self.answers.append(answer)
            await asyncio.sleep(0.01)


async def websocket_close_code(hub: RunningHub, token: str) -> int | None:
    async with connect(hub.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        try:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


async def subscribe_close_code(ws: ClientConnection) -> int | None:
    """Subscribe on a socket acknowledged before the outage; the code it is closed with."""
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}}))
    try:
        async with asyncio.timeout(10):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def acknowledged_socket(hub: RunningHub, token: str) -> ClientConnection:
    ws = await connect(hub.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    async with asyncio.timeout(10):
        assert json.loads(await ws.recv())["type"] == "connection_ack"
    return ws


async def recovered(hub: RunningHub, token: str, within: float = 20.0) -> float:
    """Seconds until a write succeeds again, nobody restarting the hub."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        answer = await hub.http.post(
            "/graphql",
            json={"query": CREATE, "variables": NEW_CASE},
            headers={"Authorization": f"Bearer {token}"},
        )
        if answer.status_code == 200 and not answer.json().get("errors"):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError("the hub did not recover by itself")


async def test_postgresql_restarts_under_load(
    private: tuple[PrivatePostgres, PrivateTemplate], caplog: pytest.LogCaptureFixture
) -> None:
    server, template = private
    async with serve_hub(template) as hub:
        await consented_case(hub)
        writer_token, reader_token = await hub.token(OWNER), await hub.token(READERS[0])
        assert (await hub.http.get("/readyz")).status_code == 200
        load = Load()
        caplog.set_level(logging.INFO)
        tasks = [
            asyncio.create_task(load.writer(hub, writer_token)),
            asyncio.create_task(load.writer(hub, writer_token)),
            asyncio.create_task(load.reader(hub, reader_token)),
        ]
        try:
            for _ in range(OUTAGES):
                await asyncio.sleep(1.0)
                open_socket = await acknowledged_socket(hub, reader_token)
                # When PostgreSQL goes away under load
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(1.0)
                # Then the hub is alive but not ready, and sockets are told to try again later
                assert (await hub.http.get("/healthz")).status_code == 200
                not_ready = await hub.http.get("/readyz")
                assert not_ready.status_code == 503 and "retry-after" in not_ready.headers
                assert await websocket_close_code(hub, reader_token) == 1013
                # (an open socket too, at its next operation: never an HTTP answer on it)
                assert await subscribe_close_code(open_socket) == 1013
                member = hub.members[OWNER]
                token = await hub.http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(member.client_id, member.client_secret),
                )
                assert token.status_code == 503 and "retry-after" in token.headers
                await asyncio.to_thread(server.start)
                # And it recovers by itself
                assert await recovered(hub, writer_token) < 20
            await asyncio.sleep(0.5)
        finally:
            load.stop.set()
            await asyncio.gather(*tasks)

        # Every answer was a success or a 503 UNAVAILABLE with Retry-After, never a 500
        statuses = {a.status_code for a in load.answers}
        assert statuses <= {200, 503}, statuses
        refused = [a for a in load.answers if a.status_code == 503]

        assert refused, "the outage was never seen: the test proved nothing"
        for answer in refused:
            assert answer.headers["retry-after"].isdigit()
            body = answer.json()
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"]
            assert body.get("data") is None
        for answer in load.answers:
            if answer.status_code == 200:
                assert not answer.json().get("errors"), answer.json()
        assert (await hub.http.get("/readyz")).status_code == 200

        # No acknowledged write was lost
        stored = set((await hub.scalar("SELECT string_agg(id, ',') FROM cases") or "").split(","))
        assert load.acknowledged and set(load.acknowledged) <= stored

    # One warning line per outage, and nothing louder: no traceback per request
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in loud] == ["referral_hub.outage"] * OUTAGES, [
        (r.name, r.getMessage()) for r in loud
    ]
    assert all(r.exc_info is None for r in loud)
