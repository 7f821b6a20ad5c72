"""Send benchmark: `sendReferral` over HTTP, next to a bare SQL insert of the same rows.

Run from the repository root (loopback only; stops by itself within --time-limit seconds):

    .venv/bin/python bench/send.py [--rounds 4] [--batch 50] [--cases 10]

A server process (pinned to one core) serves a real hub on a fresh SQLite database with the demo
network, where ccpcr-koh-kong has opened --cases cases with the survivor's consent for adhoc. It
sends one referral and notes every row that send wrote, in every table (referral, its history,
party, outbox event, audit entry ...). Then, for --rounds interleaved rounds:

- ``sendReferral``: the driver (pinned to another core) sends --batch referrals to adhoc, one after
  another over one HTTP connection with ccpcr-koh-kong's real token; latency per request;
- ``bare insert``: in the server process, --batch times, copies of those same rows (fresh keys)
  are inserted in one transaction by a plain SQLAlchemy Core engine on the same database file;
  latency per transaction.

With --floor, each round also sends ``query { __typename }`` --batch times with the same token
over the same kind of connection: the request around a send (HTTP, token check, GraphQL)
without the send, to tell the two costs apart.

Reading it: p50 and p99 over all rounds, and their ratios (the issue's goal: <= 4x).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import time
import uuid
import warnings
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("HUB_TEST_DATABASE_URL", None)  # this benchmark runs on SQLite

from bench.loadgen import call, pct, pin

SEND = """
mutation($input: SendReferralInput!) { sendReferral(input: $input) { id status version } }"""
FLOOR = "query { __typename }"


def server_main(conn: Connection, cases: int) -> None:
    import authlib.deprecate  # noqa: F401 - it adds an "always" filter; ours goes in front

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    pin(0)
    asyncio.run(_server(conn, cases))


async def snapshot(engine: Any) -> dict[str, set[tuple[Any, ...]]]:
    """The primary keys of every table of the data file (the key store is another file,
    which this bare engine does not attach; a send writes no key for a keyed case)."""
    from sqlalchemy import select

    from store.base import Base

    keys: dict[str, set[tuple[Any, ...]]] = {}
    async with engine.connect() as db:
        for table in Base.metadata.sorted_tables:
            if table.schema is not None:
                continue
            pk = list(table.primary_key.columns)
            keys[table.name] = {tuple(r) for r in await db.execute(select(*pk))}
    return keys


def fresh(row: dict[str, Any], table: Any, n: int) -> dict[str, Any]:
    """A copy of ``row`` with new values wherever the table needs them unique."""
    unique = {c.name for c in table.columns if c.unique}
    for constraint in table.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            unique |= {c.name for c in constraint.columns}
    copy = dict(row)
    for column in table.columns:
        name = column.name
        if (
            column.primary_key
            and column.autoincrement is not False
            and not isinstance(row[name], str)
        ):
            copy.pop(name)
        elif column.primary_key or name in unique:
            if isinstance(row[name], str):
                copy[name] = (uuid.uuid4().hex * 2)[: max(len(row[name]), 32)]
            elif isinstance(row[name], int):
                # Negative: the hub numbers its chains from the largest value, and must not
                # meet these copies when it goes on between rounds.
                copy[name] = -n
    return copy


async def _server(conn: Connection, cases: int) -> None:
    from sqlalchemy import insert, select, tuple_
    from sqlalchemy.ext.asyncio import create_async_engine

    from store.base import Base
    from tests.api.test_cases_flow import CONSENT, open_case
    from tests.network import build_template, serve_hub

    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="send-") as tmp:
        template = await build_template(Path(tmp))
        async with serve_hub(template, status_cache_seconds=2.0) as hub:
            adhoc = hub.members["adhoc"].organization_id
            case_ids = []
            for _ in range(cases):
                case = await open_case(hub, owner="ccpcr-koh-kong")
                consent = {
                    "caseId": case,
                    "grantor": "SURVIVOR",
                    "method": "WRITTEN",
                    "purposes": ["LEGAL_AID"],
                    "categories": ["IDENTITY", "LEGAL"],
                    "recipientOrganizationIds": [adhoc],
                }
                assert not (await hub.gql("ccpcr-koh-kong", CONSENT, {"input": consent})).errors
                case_ids.append(case)
            bare = create_async_engine(hub.settings.database_url)
            before = await snapshot(bare)
            sample = {**send_input(case_ids[0], adhoc, "bench-send-sample")}
            assert not (await hub.gql("ccpcr-koh-kong", SEND, sample)).errors
            after = await snapshot(bare)
            rows: list[tuple[Any, dict[str, Any]]] = []
            async with bare.connect() as db:
                for table in Base.metadata.sorted_tables:
                    new = after.get(table.name, set()) - before.get(table.name, set())
                    if new:
                        pk = tuple_(*table.primary_key.columns)
                        found = await db.execute(select(table).where(pk.in_(list(new))))
                        rows += [(table, dict(r._mapping)) for r in found]
            conn.send(
                {
                    "pid": os.getpid(),
                    "url": f"{hub.base_url}/graphql",
                    "token": await hub.token("ccpcr-koh-kong"),
                    "adhoc": adhoc,
                    "cases": case_ids,
                    "tables": sorted({t.name for t, _ in rows}),
                    "rows": len(rows),
                }
            )
            copies = 0
            while True:
                cmd, *args = await loop.run_in_executor(None, conn.recv)
                if cmd == "stop":
                    conn.send(None)
                    break
                latencies = []
                for _ in range(args[0]):
                    copies += 1
                    start = time.perf_counter()
                    async with bare.begin() as db:
                        for table, row in rows:
                            await db.execute(insert(table), fresh(row, table, copies))
                    latencies.append(time.perf_counter() - start)
                conn.send(latencies)
            await bare.dispose()


def send_input(case_id: str, receiver: str, key: str) -> dict[str, Any]:
    return {
        "input": {
            "caseId": case_id,
            "receivingOrganizationId": receiver,
            "services": ["LEGAL_AID"],
            "urgency": "URGENT",
            "reason": "wants to file a complaint against the broker",
            "idempotencyKey": key,
        }
    }


async def sends(info: dict[str, Any], batch: int, offset: int, floor: bool = False) -> list[float]:
    headers = {"Authorization": f"Bearer {info['token']}"}
    latencies = []
    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(offset, offset + batch):
            case = info["cases"][n % len(info["cases"])]
            body = {"query": SEND, "variables": send_input(case, info["adhoc"], f"bench-{n:08d}")}
            if floor:
                body = {"query": FLOOR}
            start = time.perf_counter()
            response = await client.post(info["url"], json=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            answer = response.json()
            assert not answer.get("errors"), answer["errors"]
            if floor:
                assert answer["data"] == {"__typename": "Query"}, answer
            else:
                assert answer["data"]["sendReferral"]["status"] == "SENT"
    return latencies


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise TimeoutError("the benchmark ran past --time-limit")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--time-limit", type=int, default=240)
    parser.add_argument("--floor", action="store_true", help="also time `{ __typename }`")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(args.time_limit)
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=server_main, args=(there, args.cases), daemon=True)
    server.start()
    http: list[float] = []
    sql: list[float] = []
    floor: list[float] = []
    try:
        while not here.poll(1):
            if not server.is_alive():
                raise RuntimeError("the server process died while setting up (see above)")
        info = here.recv()
        pin(-1)
        for r in range(args.rounds):
            if args.floor:
                floor += asyncio.run(sends(info, args.batch, r * args.batch, floor=True))
            http += asyncio.run(sends(info, args.batch, r * args.batch))
            sql += call(here, "bare", args.batch)
        call(here, "stop")
    finally:
        signal.alarm(0)
        server.join(10)
        if server.is_alive():
            server.terminate()
    print(f"one sendReferral writes {info['rows']} rows: {', '.join(info['tables'])}")
    print(f"{args.rounds} rounds x {args.batch}, one after another")
    print(f"{'':<16}{'p50 ms':>9}{'p99 ms':>9}")
    p = {name: (pct(v, 50), pct(v, 99)) for name, v in (("http", http), ("sql", sql))}
    print(f"{'sendReferral':<16}{1000 * p['http'][0]:>9.2f}{1000 * p['http'][1]:>9.2f}")
    if floor:
        print(f"{'__typename':<16}{1000 * pct(floor, 50):>9.2f}{1000 * pct(floor, 99):>9.2f}")
    print(f"{'bare insert':<16}{1000 * p['sql'][0]:>9.2f}{1000 * p['sql'][1]:>9.2f}")
    print(
        f"sendReferral / bare insert: p50 {p['http'][0] / p['sql'][0]:.1f}x, "
        f"p99 {p['http'][1] / p['sql'][1]:.1f}x (goal <= 4x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
