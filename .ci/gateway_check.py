"""The hub at home behind a federation gateway: Hive Gateway composes the hub with a
partner's subgraph and a partner system talks only to the gateway.

Run by .ci/gateway.sh with the hub's virtualenv, given the directory where the npm
packages were installed. Starts the hub (demo network, SQLite), the partner subgraph and
the gateway on loopback, then checks through the gateway, with the caller's bearer token
forwarded: a query, a join (the partner's field on the hub's Organization), a mutation and
a subscription (SSE between client and gateway, graphql-transport-ws between gateway and
hub). Also: without a token nothing of the hub is served. Every process it starts it stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MEMBER = "ccpcr-koh-kong"
# `_service { sdl }` needs `federation:read`, which only the coordinator's kind may hold.
COMPOSER = "secretariat"
WAIT = 60.0

MESH_CONFIG = """
import { defineConfig, loadGraphQLHTTPSubgraph } from '@graphql-mesh/compose-cli';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadGraphQLHTTPSubgraph('hub', {
        endpoint: process.env.HUB_GRAPHQL_URL,
        schemaHeaders: { Authorization: 'Bearer ' + process.env.HUB_COMPOSE_TOKEN },
        federation: true,
      }),
    },
    {
      sourceHandler: loadGraphQLHTTPSubgraph('partner', {
        endpoint: process.env.PARTNER_GRAPHQL_URL,
        federation: true,
      }),
    },
  ],
});
"""

GATEWAY_CONFIG = """
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  supergraph: './supergraph.graphql',
  // The caller's token goes to every subgraph; nothing else from the client does.
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const authorization = request.headers.get('authorization');
      return authorization ? { authorization } : {};
    },
  },
  // Subscriptions go to the hub over graphql-transport-ws; the token rides in
  // connection_init, as the hub reads it there.
  transportEntries: {
    hub: {
      options: {
        subscriptions: {
          kind: 'ws',
          location: '/graphql',
          options: { connectionParams: { authorization: '{context.headers.authorization}' } },
        },
      },
    },
  },
});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited early with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{what} did not start within {WAIT:.0f}s")


@contextmanager
def running(args: list[str], what: str, url: str, **kwargs: Any) -> Iterator[None]:
    log = Path(kwargs.pop("log"))
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kwargs)  # noqa: S603
        try:
            wait_for(url, process, what)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def seed(database_url: str) -> dict[str, Any]:
    """The demo network in a fresh database; returns every member's credentials by name."""
    code = (
        "import asyncio, json, sys\n"
        "from gateway.oauth.keys import ensure_signing_key\n"
        "from gateway.settings import load_settings\n"
        "from orgs.demo import seed_demo_network\n"
        "from store.engine import Database\n"
        "from store.migrate import upgrade\n"
        "async def main():\n"
        "    url = sys.argv[1]\n"
        "    await upgrade(url)\n"
        "    db = Database(url)\n"
        "    await ensure_signing_key(db, load_settings({'HUB_DATABASE_URL': url}))\n"
        "    members = await seed_demo_network(db)\n"
        "    await db.dispose()\n"
        "    print(json.dumps({k: {'id': m.client_id, 'secret': m.client_secret,"
        " 'org': m.organization_id} for k, m in members.items()}))\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, database_url],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def token(hub_url: str, client: dict[str, Any]) -> str:
    answer = httpx.post(
        f"{hub_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["id"], client["secret"]),
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def gql(url: str, bearer: str | None, query: str, variables: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    answer = httpx.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )
    return answer.json()


def check(condition: bool, what: str, detail: Any = "") -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what} {detail}")
    print(f"ok: {what}")


CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id status reference } }"
SUBSCRIBE = "subscription { events(topics: [CASE]) { id type subjectId } }"


async def first_event_through_sse(url: str, bearer: str, start: asyncio.Event) -> dict[str, Any]:
    """Subscribe through the gateway over SSE; return the first event."""
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "text/event-stream"}
    async with (
        httpx.AsyncClient(timeout=WAIT) as client,
        client.stream("POST", url, json={"query": SUBSCRIBE}, headers=headers) as stream,
    ):
        if stream.status_code != 200:
            raise SystemExit(f"FAILED: subscription answered {stream.status_code}")
        start.set()
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                payload = json.loads(line[5:].strip() or "{}")
                if payload:
                    return dict(payload)
    raise SystemExit("FAILED: the subscription ended without an event")


async def subscription_sees_mutation(url: str, bearer: str) -> tuple[Any, Any]:
    start = asyncio.Event()
    listener = asyncio.create_task(first_event_through_sse(url, bearer, start))
    await asyncio.wait_for(start.wait(), WAIT)
    await asyncio.sleep(1.0)  # the gateway has opened its socket to the hub
    created = await asyncio.to_thread(
        gql, url, bearer, CREATE, {"input": {"ageBand": "AGE_18_20", "sex": "FEMALE"}}
    )
    event = await asyncio.wait_for(listener, WAIT)
    return created, event


def main(npm_dir: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="hub-gateway-"))
    try:
        check_through_gateway(npm_dir, work)
    except BaseException:
        for log in sorted(work.glob("*.log")):
            print(f"--- last lines of {log.name} ---", file=sys.stderr)
            print("\n".join(log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_through_gateway(npm_dir: Path, work: Path) -> None:
    hub_port, partner_port, gateway_port = free_port(), free_port(), free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    partner_url = f"http://127.0.0.1:{partner_port}/graphql"
    gateway_url = f"http://127.0.0.1:{gateway_port}/graphql"
    database_url = f"sqlite+aiosqlite:///{work / 'hub.db'}"
    clients = seed(database_url)
    client = clients[MEMBER]
    hub_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_DATABASE_URL": database_url,
        "HUB_PUBLIC_URL": hub_url,
    }
    hub_cmd = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(hub_port)]
    partner_cmd = [sys.executable, str(ROOT / ".ci" / "partner_subgraph.py"), str(partner_port)]
    with (
        running(hub_cmd, "hub", f"{hub_url}/healthz", cwd=ROOT, env=hub_env, log=work / "hub.log"),
        running(partner_cmd, "partner", partner_url, cwd=ROOT, log=work / "partner.log"),
    ):
        bearer = token(hub_url, client)
        (npm_dir / "mesh.config.ts").write_text(MESH_CONFIG)
        (npm_dir / "gateway.config.ts").write_text(GATEWAY_CONFIG)
        compose_env = {
            **os.environ,
            "HUB_GRAPHQL_URL": f"{hub_url}/graphql",
            "HUB_COMPOSE_TOKEN": token(hub_url, clients[COMPOSER]),
            "PARTNER_GRAPHQL_URL": partner_url,
        }
        composed = subprocess.run(  # noqa: S603
            [str(npm_dir / "node_modules" / ".bin" / "mesh-compose"), "-o", "supergraph.graphql"],
            cwd=npm_dir,
            env=compose_env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        check(composed.returncode == 0, "mesh-compose composed the supergraph", composed.stderr)
        supergraph = (npm_dir / "supergraph.graphql").read_text()
        check("partnerDesk" in supergraph and "createCase" in supergraph, "both subgraphs in it")

        gateway_cmd = [
            str(npm_dir / "node_modules" / ".bin" / "hive-gateway"),
            "supergraph",
            "./supergraph.graphql",
            "--port",
            str(gateway_port),
        ]
        with running(
            gateway_cmd,
            "gateway",
            f"http://127.0.0.1:{gateway_port}/healthcheck",
            cwd=npm_dir,
            log=work / "gateway.log",
        ):
            query = gql(gateway_url, bearer, "{ viewer { clientId organization { id } } }")
            check(
                not query.get("errors")
                and query["data"]["viewer"]["organization"]["id"] == client["org"]
                and query["data"]["viewer"]["clientId"] == client["id"],
                "a query through the gateway, token forwarded",
                query,
            )
            joined = gql(gateway_url, bearer, "{ organizations { id name partnerDesk } }")
            orgs = (joined.get("data") or {}).get("organizations") or []
            check(
                not joined.get("errors")
                and len(orgs) >= 10
                and all(o["partnerDesk"] == f"desk-{o['id'][:8]}" for o in orgs),
                "a join: the partner's field on the hub's organisations",
                joined,
            )
            created, event = asyncio.run(subscription_sees_mutation(gateway_url, bearer))
            case = ((created.get("data") or {}).get("createCase")) or {}
            check(not created.get("errors") and case.get("id"), "a mutation", created)
            events = (event.get("data") or {}).get("events") or {}
            check(
                events.get("type") == "CASE_CREATED" and events.get("subjectId") == case["id"],
                "a subscription delivered the mutation's event",
                event,
            )
            seen = httpx.get(f"http://127.0.0.1:{partner_port}/seen", timeout=10).json()
            check(seen["with_token"] >= 1, "the partner subgraph received the token too", seen)
            anonymous = gql(gateway_url, None, "{ viewer { clientId } }")
            check(
                (anonymous.get("data") or {}).get("viewer") is None and anonymous.get("errors"),
                "without a token the gateway gets nothing from the hub",
                anonymous,
            )
    print("gateway check passed")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
