"""On PostgreSQL: the pump survives losing its LISTEN connection, and a change made through
one hub process reaches a subscriber connected to another (real processes)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from orgs import service
from orgs.principal import operator
from orgs.rules import MembershipAction
from store.engine import Database
from tests.api.event_support import (
    EVENTS,
    SUSPEND,
    WAIT,
    flip,
    head,
    ids,
    next_events,
    ok,
    partner_socket,
    pump_of,
    registered,
    start,
    until,
    visible_ids,
)
from tests.network import RunningHub, Template, backend, base_settings, serve_hub

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="LISTEN/NOTIFY and hub processes sharing one database"
)

REPO = Path(__file__).resolve().parents[2]
LISTENERS = (
    "SELECT pid FROM pg_stat_activity "
    "WHERE datname = current_database() AND query LIKE 'LISTEN%' ORDER BY pid"
)


async def listener_pids(hub: RunningHub) -> list[int]:
    async with hub.db.read() as session:
        return [int(pid) for pid in (await session.execute(text(LISTENERS))).scalars()]


async def test_a_killed_listen_connection_loses_nothing(template: Template) -> None:
    # The slow poll is out of the picture: only LISTEN and its catch-up can deliver in time.
    async with serve_hub(template, event_poll_interval=30.0) as hub:
        pump = pump_of(hub)
        await asyncio.wait_for(pump.listener_connected.wait(), WAIT)
        (listener,) = await listener_pids(hub)
        beijing = hub.members["embassy-beijing"].organization_id
        cursor = await head(hub)
        async with partner_socket(hub, "secretariat") as ws:
            await start(ws, "1", EVENTS, {"after": str(cursor)})
            await registered(hub, 1)

            assert await hub.scalar("SELECT pg_terminate_backend(:pid)", pid=listener) is True
            # Right away, changes committed elsewhere: this process's commit hook never fires.
            elsewhere = Database(hub.settings.database_url)
            try:
                for n in range(6):
                    action = MembershipAction.SUSPEND if n % 2 == 0 else MembershipAction.REINSTATE
                    await service.change_membership(elsewhere, operator(), beijing, action, "audit")
            finally:
                await elsewhere.dispose()

            expected = await visible_ids(hub, "secretariat", cursor)
            assert len(expected) == 6
            assert ids(await next_events(ws, 6)) == expected

            await until(pump.listener_connected.is_set, "the listener reconnected")
            (relistening,) = await listener_pids(hub)
            assert relistening != listener
            await flip(hub, "mosavy", 1)
            (live,) = await next_events(ws, 1)
            assert int(live["id"]) == await head(hub)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def hub_process(template: Template, url: str, log: Path) -> AsyncIterator[RunningHub]:
    """`referral-hub serve` in its own process, on the shared database."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "HUB_DATABASE_URL": url,
        "HUB_PUBLIC_URL": base_url,
        "HUB_LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--port",
            str(port),
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    db = Database(url)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            async with asyncio.timeout(30):
                while True:
                    assert process.returncode is None, log.read_text()
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            settings = base_settings(url, base_url)
            yield RunningHub(base_url, settings, template.members, db, http, app=None)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        await db.dispose()


async def test_a_change_made_through_one_hub_process_reaches_a_subscriber_on_another(
    template: Template,
) -> None:
    url = await template.copy()
    beijing = template.members["embassy-beijing"].organization_id
    try:
        with tempfile.TemporaryDirectory() as logs:
            async with (
                hub_process(template, url, Path(logs) / "a.log") as a,
                hub_process(template, url, Path(logs) / "b.log") as b,
            ):
                cursor = await head(a)
                async with partner_socket(b, "secretariat") as ws:
                    await start(ws, "1", EVENTS, {"after": str(cursor)})
                    await ok(a, "secretariat", SUSPEND, {"id": beijing})
                    (first,) = await next_events(ws, 1)
                    # B is live now: the next change through A must reach it within seconds.
                    await flip(a, "embassy-beijing", 1)
                    async with asyncio.timeout(5):
                        (second,) = await next_events(ws, 1)
                assert [int(first["id"]), int(second["id"])] == await visible_ids(
                    a, "secretariat", cursor
                )
                assert (first["type"], second["type"]) == (
                    "ORGANIZATION_SUSPENDED",
                    "ORGANIZATION_REINSTATED",
                )
    finally:
        await template.drop(url)
