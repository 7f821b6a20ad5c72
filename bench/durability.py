"""Durability checks, repeatable: real hub processes, real kills and restarts, loopback only.

Run from the repository root; each check stops by itself within --time-limit seconds and
prints one result line (exit status 0 when every check held):

    .venv/bin/python bench/durability.py [--check all|kill9|replay|chain|pgrestart]
                                         [--kills 20] [--restarts 5] [--writers 10]
                                         [--outages 3] [--time-limit 1800]

- kill9: partners send referrals with idempotency keys and retry every failure, while the hub
  process is killed with SIGKILL and started again --kills times. Holds when every key made
  exactly one referral and every retry was answered with that same referral.
- replay: a subscriber follows `events(after:)` over graphql-transport-ws and reconnects with
  its last id whenever the hub goes away; the hub is stopped and started --restarts times while
  membership changes keep coming. Holds when it received every event once: 0 lost, 0 duplicated.
- chain: --writers partners read a consented case at once through two hub processes, each read
  one disclosure entry. Holds when `referral-hub audit verify` finds one unbroken chain holding
  exactly the reads that were answered.
- pgrestart: two hub processes share a private PostgreSQL server (started in a temporary
  directory, never the shared cluster) that is restarted --outages times under writes. Holds when
  every answer was 200 or 503 UNAVAILABLE with Retry-After, every acknowledged write is stored,
  both hubs recover by themselves, and each hub logged one warning per outage.

kill9, replay and chain run on a fresh SQLite file per check, as `referral-hub demo` does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.pop("HUB_TEST_DATABASE_URL", None)

from gateway.oauth.keys import ensure_signing_key  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from orgs.demo import DemoMember, seed_demo_network  # noqa: E402
from store.engine import Database  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from tests.private_postgres import PrivatePostgres, available  # noqa: E402

OWNER, READER, COORDINATOR = "ccpcr-koh-kong", "adhoc", "secretariat"
CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }"
SEND = "mutation($input: SendReferralInput!) { sendReferral(input: $input) { id } }"
READ = "query($id: ID!) { case(id: $id) { id fullName } }"
EVENTS = "subscription($after: String) { events(after: $after, topics: [ORGANIZATION]) { id } }"
SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "bench") { status } }'
REINSTATE = 'mutation($id: ID!) { reinstateOrganization(id: $id, reason: "bench") { status } }'
NEW_CASE = {"input": {"ageBand": "AGE_18_20", "sex": "FEMALE", "survivor": {"fullName": "Bench"}}}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    """`referral-hub serve` in its own process, on a port of its own."""

    def __init__(self, url: str, workdir: Path, name: str) -> None:
        self.url = url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, within: float = 60) -> None:
        env = os.environ | {
            "HUB_DATABASE_URL": self.url,
            "HUB_PUBLIC_URL": self.base_url,
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_RATE_LIMIT_GRAPHQL": "1000000/minute",
            "HUB_RATE_LIMIT_TOKEN": "1000000/minute",
            "HUB_SCHEDULER_INTERVAL": "0",
            "HUB_EVENT_POLL_INTERVAL": "1",
        }
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port),
                env=env, cwd=REPO, stdout=out, stderr=out,
            )  # fmt: skip
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"hub ended early; see {self.log}")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"hub not ready within {within} s; see {self.log}")

    async def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def warnings(self, needle: str) -> int:
        return sum(1 for line in self.log.read_text().splitlines() if needle in line)


async def prepare(url: str) -> dict[str, DemoMember]:
    await upgrade(url)
    db = Database(url)
    try:
        await ensure_signing_key(db, Settings(database_url=url))
        return await seed_demo_network(db)
    finally:
        await db.dispose()


class Partner:
    """One demo member's system talking to one hub over HTTP."""

    def __init__(self, hub: HubProcess, member: DemoMember) -> None:
        self.hub = hub
        self.member = member
        self.http = httpx.AsyncClient(timeout=30)
        self._token: str | None = None

    async def token(self) -> str:
        if self._token is None:
            answer = await self.http.post(
                f"{self.hub.base_url}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(self.member.client_id, self.member.client_secret),
            )
            answer.raise_for_status()
            self._token = str(answer.json()["access_token"])
        return self._token

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(
            f"{self.hub.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {await self.token()}"},
        )

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        answer = await self.post(query, variables)
        body = answer.json()
        if answer.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{answer.status_code}: {body.get('errors')}")
        return body["data"]

    async def close(self) -> None:
        await self.http.aclose()


async def consented_case(owner: Partner, readers: list[DemoMember]) -> str:
    case_id = str((await owner.ok(CREATE, NEW_CASE))["createCase"]["id"])
    await owner.ok(
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["LEGAL_AID", "SERVICE_REFERRAL"],
                "categories": ["IDENTITY", "LEGAL"],
                "recipientOrganizationIds": [m.organization_id for m in readers],
            }
        },
    )
    return case_id


async def scalar(url: str, sql: str) -> Any:
    from sqlalchemy import text

    db = Database(url)
    try:
        async with db.read() as session:
            return (await session.execute(text(sql))).scalar()
    finally:
        await db.dispose()


# --- kill -9 during retried idempotent sends -------------------------------------------------


async def check_kill9(args: argparse.Namespace, workdir: Path) -> tuple[bool, str]:
    url = f"sqlite+aiosqlite:///{workdir / 'kill9.db'}"
    members = await prepare(url)
    hub = HubProcess(url, workdir, "kill9")
    await hub.start()
    sender = Partner(hub, members[OWNER])
    case_id = await consented_case(sender, [members[READER]])
    keys = [f"bench-kill9-{n:04d}" for n in range(args.kills * 5)]
    answered: dict[str, set[str]] = {key: set() for key in keys}
    kills = 0
    done = asyncio.Event()

    async def send_until_answered(key: str) -> None:
        variables = {
            "input": {
                "caseId": case_id,
                "receivingOrganizationId": members[READER].organization_id,
                "services": ["LEGAL_AID"],
                "urgency": "URGENT",
                "reason": "bench",
                "idempotencyKey": key,
            }
        }
        # Retried until acknowledged, and once more after that: the retry must get the same one.
        while len(answered[key]) == 0 or random.random() < 0.5:  # noqa: S311
            try:
                answer = await sender.post(SEND, variables)
                body = answer.json()
                if answer.status_code == 200 and not body.get("errors"):
                    answered[key].add(str(body["data"]["sendReferral"]["id"]))
                    if random.random() < 0.5:  # noqa: S311
                        return
                    continue
            except (httpx.TransportError, ValueError):
                pass
            await asyncio.sleep(0.05)

    async def senders() -> None:
        queue = list(keys)
        while queue:
            batch, queue = queue[:4], queue[4:]
            await asyncio.gather(*(send_until_answered(k) for k in batch))
        done.set()

    async def killer() -> None:
        nonlocal kills
        while not done.is_set() and kills < args.kills:
            await asyncio.sleep(random.uniform(0.2, 0.8))  # noqa: S311
            await hub.kill9()
            kills += 1
            await hub.start()

    try:
        await asyncio.gather(senders(), killer())
    finally:
        await sender.close()
        await hub.stop()
    stored = int(await scalar(url, "SELECT COUNT(*) FROM referrals"))
    keyed = int(await scalar(url, "SELECT COUNT(DISTINCT idempotency_key) FROM referrals"))
    split = sum(1 for ids in answered.values() if len(ids) != 1)
    ok = stored == keyed == len(keys) and split == 0 and kills > 0
    return ok, (
        f"{kills} kills, {len(keys)} keys: {stored} referrals stored, {keyed} distinct keys, "
        f"{split} keys answered with more than one referral"
    )


# --- hub restarts under a replaying subscriber -----------------------------------------------


async def check_replay(args: argparse.Namespace, workdir: Path) -> tuple[bool, str]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    url = f"sqlite+aiosqlite:///{workdir / 'replay.db'}"
    members = await prepare(url)
    hub = HubProcess(url, workdir, "replay")
    await hub.start()
    coordinator = Partner(hub, members[COORDINATOR])
    start = int(await scalar(url, "SELECT COALESCE(MAX(id), 0) FROM events"))
    received: list[int] = []
    stop = asyncio.Event()
    shelter = members["ccpcr-shelter"].organization_id

    async def subscriber() -> None:
        last = start
        while not stop.is_set():
            try:
                ws_url = hub.base_url.replace("http://", "ws://") + "/graphql"
                async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
                    token = await coordinator.token()
                    init = {
                        "type": "connection_init",
                        "payload": {"authorization": f"Bearer {token}"},
                    }
                    await ws.send(json.dumps(init))
                    payload = {"query": EVENTS, "variables": {"after": str(last)}}
                    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                    while not stop.is_set():
                        try:
                            message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                        except TimeoutError:
                            continue
                        if message.get("type") == "next" and message["payload"].get("data"):
                            event_id = int(message["payload"]["data"]["events"]["id"])
                            received.append(event_id)
                            last = max(last, event_id)
            except (OSError, ConnectionClosed, InvalidHandshake):
                await asyncio.sleep(0.1)

    changing = asyncio.Event()
    changing.set()

    async def changes() -> None:
        suspend = True
        while changing.is_set():
            try:
                await coordinator.ok(SUSPEND if suspend else REINSTATE, {"id": shelter})
                suspend = not suspend
            except (httpx.TransportError, RuntimeError):
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.02)

    async def restarts() -> None:
        for _ in range(args.restarts):
            await asyncio.sleep(random.uniform(0.5, 1.5))  # noqa: S311
            await hub.stop()
            await hub.start()
        await asyncio.sleep(1.0)
        changing.clear()

    tasks = [asyncio.create_task(t) for t in (subscriber(), changes())]
    try:
        await restarts()
        await tasks[1]
        # The changes are over: the subscriber must now catch up with every one of them.
        last = int(await scalar(url, "SELECT COALESCE(MAX(id), 0) FROM events"))
        deadline = time.monotonic() + 20
        while max(received, default=start) < last and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    finally:
        changing.clear()
        stop.set()
        await asyncio.gather(*tasks)
        await coordinator.close()
        await hub.stop()
    db = Database(url)
    from sqlalchemy import text

    async with db.read() as session:
        sql = "SELECT id FROM events WHERE topic = 'ORGANIZATION' AND id > :start ORDER BY id"
        stored = [int(i) for i in (await session.execute(text(sql), {"start": start})).scalars()]
    await db.dispose()
    seen = set(received)
    duplicated = len(received) - len(seen)
    lost = len([i for i in stored if i not in seen])
    invented = len(seen - set(stored))
    ok = lost == 0 and duplicated == 0 and invented == 0 and len(seen) > 0
    return ok, (
        f"{args.restarts} restarts, {len(stored)} events: {len(seen)} received, "
        f"{lost} lost, {duplicated} duplicated, {invented} not in the outbox"
    )


# --- one unbroken disclosure chain from many concurrent writers ------------------------------


async def check_chain(args: argparse.Namespace, workdir: Path) -> tuple[bool, str]:
    url = f"sqlite+aiosqlite:///{workdir / 'chain.db'}"
    members = await prepare(url)
    hubs = [HubProcess(url, workdir, f"chain-{n}") for n in range(2)]
    for hub in hubs:
        await hub.start()
    readers = [members[READER], members["ccpcr-shelter"]]
    owner = Partner(hubs[0], members[OWNER])
    case_id = await consented_case(owner, readers)
    partners = [Partner(hubs[n % 2], readers[n % 2]) for n in range(args.writers)]
    answered = 0

    async def reads(partner: Partner) -> None:
        nonlocal answered
        for _ in range(10):
            data = await partner.ok(READ, {"id": case_id})
            assert data["case"]["fullName"] == "Bench"
            answered += 1

    try:
        for partner in partners:
            await partner.token()
        await asyncio.gather(*(reads(p) for p in partners))
    finally:
        for partner in [owner, *partners]:
            await partner.close()
        for hub in hubs:
            await hub.stop()
    entries = int(await scalar(url, "SELECT COUNT(*) FROM disclosures"))
    verify = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "audit", "verify",
        env=os.environ | {"HUB_DATABASE_URL": url}, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await verify.communicate())[0].decode().strip().splitlines()[-1]
    ok = verify.returncode == 0 and entries == answered
    return ok, f"{args.writers} writers, {answered} reads answered, {entries} entries: {output}"


# --- PostgreSQL restarts under two hub processes ---------------------------------------------


async def check_pgrestart(args: argparse.Namespace, workdir: Path) -> tuple[bool, str]:
    if not available():
        return True, "skipped: no PostgreSQL server binaries here"
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    server = PrivatePostgres()
    hubs: list[HubProcess] = []
    partners: list[Partner] = []
    try:
        await asyncio.to_thread(server.start)
        admin = create_async_engine(server.url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text('CREATE DATABASE "hub"'))
        await admin.dispose()
        url = server.url("hub")
        members = await prepare(url)
        hubs = [HubProcess(url, workdir, f"pg-{n}") for n in range(2)]
        for hub in hubs:
            await hub.start()
        partners = [Partner(hub, members[OWNER]) for hub in hubs]
        for partner in partners:
            await partner.token()
        statuses: dict[int, int] = {}
        bad: list[str] = []
        acknowledged: list[str] = []
        stop = asyncio.Event()

        async def writer(partner: Partner) -> None:
            while not stop.is_set():
                try:
                    answer = await partner.post(CREATE, NEW_CASE)
                except httpx.TransportError:
                    bad.append("transport error")
                    continue
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                body = answer.json()
                if answer.status_code == 200 and not body.get("errors"):
                    acknowledged.append(str(body["data"]["createCase"]["id"]))
                elif answer.status_code == 503:
                    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
                    if codes != ["UNAVAILABLE"] or "retry-after" not in answer.headers:
                        bad.append(f"503 {codes}")
                    await asyncio.sleep(0.05)
                else:
                    bad.append(f"{answer.status_code} {body.get('errors')}")
                await asyncio.sleep(0.01)

        async def recovered(partner: Partner, within: float = 30) -> float:
            started = time.monotonic()
            while time.monotonic() - started < within:
                answer = await partner.post(CREATE, NEW_CASE)
                if answer.status_code == 200 and not answer.json().get("errors"):
                    return time.monotonic() - started
                await asyncio.sleep(0.05)
            raise RuntimeError("a hub did not recover by itself")

        tasks = [asyncio.create_task(writer(p)) for p in partners for _ in range(2)]
        recovery: list[float] = []
        try:
            for _ in range(args.outages):
                await asyncio.sleep(1.0)
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(random.uniform(0.5, 2.0))  # noqa: S311
                await asyncio.to_thread(server.start)
                recovery += await asyncio.gather(*(recovered(p) for p in partners))
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        stored = set((await scalar(url, "SELECT string_agg(id, ',') FROM cases") or "").split(","))
        lost = len(set(acknowledged) - stored)
    finally:
        for partner in partners:
            await partner.close()
        for hub in hubs:
            await hub.stop()
        await asyncio.to_thread(server.remove)
    warned = [hub.warnings("database unavailable") for hub in hubs]
    tracebacks = [hub.warnings("Traceback") for hub in hubs]
    ok = (
        not bad
        and statuses.get(503, 0) > 0
        and set(statuses) <= {200, 503}
        and lost == 0
        and all(w <= args.outages for w in warned)
        and sum(tracebacks) == 0
    )
    return ok, (
        f"{args.outages} restarts under 2 hubs: answers {dict(sorted(statuses.items()))}, "
        f"{len(bad)} bad answers {bad[:3]}, {len(acknowledged)} acknowledged writes, {lost} lost, "
        f"recovery max {max(recovery, default=0):.2f} s after PostgreSQL was back, "
        f"outage warnings per hub {warned}, tracebacks {tracebacks}"
    )


CHECKS: dict[str, Callable[[argparse.Namespace, Path], Awaitable[tuple[bool, str]]]] = {
    "kill9": check_kill9,
    "replay": check_replay,
    "chain": check_chain,
    "pgrestart": check_pgrestart,
}


async def run(args: argparse.Namespace) -> int:
    names = list(CHECKS) if args.check == "all" else [args.check]
    failed = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"hub-{name}-") as tmp:
            started = time.monotonic()
            try:
                ok, detail = await CHECKS[name](args, Path(tmp))
            except Exception as exc:  # a check that crashes has failed
                ok, detail = False, f"crashed: {type(exc).__name__}: {exc}"
            took = time.monotonic() - started
            print(f"{name:10} {'HELD' if ok else 'FAILED':6} {took:6.1f} s  {detail}", flush=True)
            failed += not ok
    return 1 if failed else 0


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    print("time limit reached; stopping", file=sys.stderr, flush=True)
    os.killpg(0, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", choices=["all", *CHECKS], default="all")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--outages", type=int, default=3)
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    with contextlib.suppress(OSError):
        os.setpgrp()  # so the time limit can take every hub process down with us
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(args.time_limit)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
