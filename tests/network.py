"""Test harness: a template database with the demo network, copied for every test,
and a real hub served over loopback HTTP and websockets by uvicorn.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from gateway.app import build_hub, create_app
from gateway.direct_frames import DirectFrameProtocol
from gateway.oauth.keys import ensure_signing_key
from gateway.serving import HubServer
from gateway.settings import Settings
from orgs.demo import DemoMember, seed_demo_network
from store.engine import Database, standalone_engine
from store.key_store import key_store_path
from store.migrate import upgrade
from tests.marker_watch import refuse, scan_database

POSTGRES_URL = os.environ.get("HUB_TEST_DATABASE_URL")


def backend() -> str:
    return "postgresql" if POSTGRES_URL else "sqlite"


def base_settings(database_url: str, public_url: str = "http://127.0.0.1:9") -> Settings:
    # The standing cache is off so a suspension is visible to the very next request;
    # production keeps it at a couple of seconds.
    return Settings(
        database_url=database_url,
        public_url=public_url,
        status_cache_seconds=0.0,
        # The answer cache keeps Settings' (production) default, so every suite runs with it
        # on; only tests that must see every execution turn it off, each saying why.
        key_publish_lead=0,
        scheduler_interval=0.0,
        # Tests hammer one hub from one address; limits get tests of their own.
        rate_limit_graphql="100000/minute",
        rate_limit_oauth="100000/minute",
    )


@dataclass
class Template:
    """A migrated database holding the demo network, copied for each test."""

    url: str
    members: dict[str, DemoMember]
    workdir: Path
    _copies: int = 0

    async def copy(self) -> str:
        self._copies += 1
        if POSTGRES_URL is None:
            source = make_url(self.url).database
            assert source is not None
            target = self.workdir / f"test-{self._copies}.db"
            shutil.copyfile(source, target)
            shutil.copyfile(key_store_path(source), key_store_path(str(target)))
            return f"sqlite+aiosqlite:///{target}"
        name = f"hub_test_{os.getpid()}_{self._copies}"
        template = make_url(self.url).database
        await _admin(f'DROP DATABASE IF EXISTS "{name}"')
        await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    async def drop(self, url: str) -> None:
        # Survivor data must never lie in plain text in the database: look before dropping.
        finds = await scan_database(url)
        await self._drop(url)
        refuse(finds, "the test's database")

    async def _drop(self, url: str) -> None:
        if POSTGRES_URL is None:
            db_file = make_url(url).database
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
                Path(f"{key_store_path(str(db_file))}{suffix}").unlink(missing_ok=True)
        else:
            await _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def _admin(statement: str) -> None:
    assert POSTGRES_URL is not None
    engine = create_async_engine(POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def build_template(workdir: Path) -> Template:
    if POSTGRES_URL is None:
        url = f"sqlite+aiosqlite:///{workdir / 'template.db'}"
    else:
        name = f"hub_template_{os.getpid()}"
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{name}"')
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await upgrade(url)
    db = Database(url)
    try:
        await ensure_signing_key(db, base_settings(url))
        members = await seed_demo_network(db)
    finally:
        await db.dispose()
    if POSTGRES_URL is None:
        # Fold the WAL into the main file so a plain file copy holds everything.
        engine = standalone_engine(url)  # the key store attached: both logs folded
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            await conn.exec_driver_sql("PRAGMA keystore.wal_checkpoint(TRUNCATE)")
        await engine.dispose()
    return Template(url=url, members=members, workdir=workdir)


async def drop_template(template: Template) -> None:
    finds = await scan_database(template.url)
    if POSTGRES_URL is not None:
        await _admin(f'DROP DATABASE IF EXISTS "{make_url(template.url).database}" WITH (FORCE)')
    refuse(finds, "the template database")


@dataclass
class GraphQLResult:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


@dataclass
class RunningHub:
    """A hub served on loopback, and the demo network's credentials."""

    base_url: str
    settings: Settings
    members: dict[str, DemoMember]
    db: Database
    http: httpx.AsyncClient
    app: Any
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)
    server: uvicorn.Server | None = None

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    def oauth_client(self, member: str, **kwargs: Any) -> AsyncOAuth2Client:
        m = self.members[member]
        return AsyncOAuth2Client(m.client_id, m.client_secret, **kwargs)

    async def fetch_token(self, member: str, scope: str | None = None) -> dict[str, Any]:
        """A token for a demo member, fetched by authlib's own OAuth client."""
        async with self.oauth_client(member, scope=scope) as client:
            token: dict[str, Any] = await client.fetch_token(
                self.token_url, grant_type="client_credentials"
            )
        return token

    async def token(self, member: str, scope: str | None = None) -> str:
        key = (member, scope)
        if key not in self._tokens:
            self._tokens[key] = (await self.fetch_token(member, scope))["access_token"]
        return self._tokens[key]

    async def gql(
        self,
        who: str | None,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
    ) -> GraphQLResult:
        """Run a GraphQL operation as demo member ``who`` (or with an explicit token)."""
        bearer = token or (await self.token(who) if who else None)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        return GraphQLResult(response.status_code, body)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.read() as session:
            return (await session.execute(text(sql), params)).scalar()


def _free_socket() -> socket.socket:
    """A port of our own, listening at once. (With SO_REUSEADDR, a bound socket not yet
    listening shares its port with another such socket: a parallel worker's hub could take
    it first, and ours then failed with "address already in use".) Made for TCP by name, as
    asyncio makes the sockets uvicorn binds from a host and port (the CLI's way): asyncio turns
    Nagle's algorithm off only on connections of such a socket; with it on, a response's body
    waited for the client's delayed acknowledgement of its headers (~40 ms a request)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@asynccontextmanager
async def serve_hub(
    template: Template,
    *,
    ws_ping: float | None = None,
    host: str = "127.0.0.1",
    **overrides: Any,
) -> AsyncIterator[RunningHub]:
    """A hub on a port of its own. ``host``: the name in its public URL (``localhost``
    where a browser refuses an IP address, as WebAuthn does for an RP ID)."""
    url = await template.copy()
    sock = _free_socket()
    port = sock.getsockname()[1]
    base_url = f"http://{host}:{port}"
    settings = base_settings(url, base_url).with_overrides(**overrides)
    hub = build_hub(settings)
    app = create_app(settings, hub)
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws=DirectFrameProtocol,
        ws_per_message_deflate=settings.ws_compression,
        lifespan="on",
        ws_ping_interval=ws_ping or 20.0,
        ws_ping_timeout=ws_ping or 20.0,
    )
    server = HubServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            running = RunningHub(base_url, settings, template.members, hub.db, http, app)
            running.server = server
            yield running
    finally:
        server.should_exit = True
        try:
            await task
        finally:
            sock.close()
            await hub.db.dispose()
            await template.drop(url)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"
