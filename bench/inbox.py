"""Inbox benchmark: the 50-row referral inbox through the full hub, next to anchors run alongside.

Run from the repository root (loopback only; stops by itself within --time-limit seconds):

    .venv/bin/python bench/inbox.py [--rounds 3] [--seconds 3] [--connections 16] [--survivor]
                                    [--load python|wrk]

A server process (pinned to one core) builds the demo network on a fresh SQLite database, opens 50
cases at ccpcr-koh-kong with the survivor's consent for adhoc and refers each to adhoc over
GraphQL, then copies those referral rows (and their party rows) up to 100 referrals in adhoc's
inbox; a second hub gets a copy of that database grown to 10,000. The same process serves:

- ``hub``: the real hub (uvicorn, production standing cache of 2 s and answer cache of 2 s) with
  adhoc's real OAuth token: every poll after the first is the validated answer cache's
  (gateway/answers.py), as a partner polling an unchanged inbox sees;
- ``hub, no answer cache``: the same hub code with the answer cache off, on a copy of the same
  database: every request executes the query;
- ``hub-10k``: the same hub code on the database with 10,000 referrals;
- ``strawberry``: a plain in-memory Strawberry app of the same shape holding the same 50 rows;
- ``starlette``: bare Starlette returning the same JSON from memory (``JSONResponse``).

The driver (pinned to another core) posts the query from --connections connections for --seconds,
target after target, for --rounds interleaved rounds. ``--survivor`` instead compares the inbox
with 6 survivor fields of each case against the inbox with 6 plain case fields, both on the hub
without the answer cache (it compares the cost of computing fields).
Reading it: req/s and server CPU ms per request are medians over rounds; ratios compare medians.

The load generator is httpx in Python by default (bench/loadgen.py, every answer checked): it
saturates its core near the bare Starlette anchor (450-520 req/s, about 2 ms a request), and near
that ceiling it, not the server, limits. ``--load wrk`` drives each target with the ``wrk`` binary
instead (``apt-get install wrk``; bench/wrkload.py): ``wrk -t 1 -c CONNECTIONS -d SECONDS``
(whole seconds), pinned to the load core, posting the same JSON body with the same bearer token.
Before each run the target's answer is checked once as the Python driver checks it (status 200,
no errors, 50 edges); under load wrk's script counts every answer whose status or bytes differ
from that checked one. Socket errors, statuses >= 400 and such answers make the run print
``ERRORS: ...`` and exit 1. p50/p99 come from wrk's ``--latency`` (per round: p50 is the median
of the rounds', p99 and max the highest round's); server CPU per request is measured as with the
Python driver, and the ``wrk ms/req`` column is wrk's own CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import signal
import statistics
import sys
import tempfile
import uuid
import warnings
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("HUB_TEST_DATABASE_URL", None)  # this benchmark runs on SQLite

import httpx

from bench import wrkload as wrk_load
from bench.loadgen import Run, call, load, pct, pin
from bench.wrkload import WrkRun

NODE = "id status urgency sender { id name } receiver { id name } case { id status }"
INBOX = "query { referrals(box: INBOX, first: 50) { edges { node { %s } } } }"
SURVIVOR_FIELDS = "fullName otherNames phone healthNotes legalNotes homeProvince"
PLAIN_FIELDS = "reference ownerId ageBand sex nationality version"
QUERIES = {
    "inbox": INBOX % NODE,
    "survivor": INBOX % f"id case {{ id {SURVIVOR_FIELDS} }}",
    "plain": INBOX % f"id case {{ id {PLAIN_FIELDS} }}",
}


# --- the server process ----------------------------------------------------------------------


def server_main(conn: Connection, total: int) -> None:
    import authlib.deprecate  # noqa: F401 - it adds an "always" filter; ours goes in front

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    pin(0)
    asyncio.run(_server(conn, total))


async def grow(db_url: str, receiver: str, want: int) -> None:
    """Copy the receiver's referrals (and their party rows) until its inbox holds ``want``.

    Copies are older than every original, so the newest page stays the one seeded over GraphQL.
    Each copy refers a copy of its case (the non-identifying row only: sealed fields are bound
    to their case's id), so cases and party rows grow with the referrals as they would.
    """
    from sqlalchemy import insert, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from cases.models import Case, CaseParty, Referral

    engine = create_async_engine(db_url)
    async with engine.begin() as conn:
        seeds = [
            dict(r._mapping)
            for r in await conn.execute(
                select(Referral.__table__).where(Referral.receiver_organization_id == receiver)
            )
        ]
        parties = {
            r.source_id: dict(r._mapping)
            for r in await conn.execute(
                select(CaseParty.__table__).where(CaseParty.source_id.in_([s["id"] for s in seeds]))
            )
        }
        cases = {
            r.id: dict(r._mapping)
            for r in await conn.execute(
                select(Case.__table__).where(Case.id.in_({s["case_id"] for s in seeds}))
            )
        }
        rows, party_rows, case_rows = [], [], []
        for n in range(want - len(seeds)):
            seed = seeds[n % len(seeds)]
            new_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
            age = timedelta(days=1 + n // len(seeds))
            case_rows.append(
                {**cases[seed["case_id"]], "id": case_id, "reference": f"RH-BENCH-{case_id[:24]}"}
            )
            rows.append(
                {
                    **seed,
                    "id": new_id,
                    "case_id": case_id,
                    "idempotency_key": new_id,
                    "created_at": seed["created_at"] - age,
                }
            )
            if seed["id"] in parties:
                party = {**parties[seed["id"]], "source_id": new_id, "case_id": case_id}
                party.pop("id")
                party_rows.append(party)
        for start in range(0, len(rows), 500):
            await conn.execute(insert(Case.__table__), case_rows[start : start + 500])
            await conn.execute(insert(Referral.__table__), rows[start : start + 500])
        for start in range(0, len(party_rows), 500):
            await conn.execute(insert(CaseParty.__table__), party_rows[start : start + 500])
    async with engine.connect() as conn:  # fold the WAL in: the file alone can then be copied
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await engine.dispose()


async def _server(conn: Connection, total: int) -> None:
    from bench.anchors import serve_anchors
    from tests.api.test_cases_flow import CONSENT, open_case
    from tests.api.test_referral_flow import SEND
    from tests.network import Template, build_template, serve_hub

    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="inbox-") as tmp:
        template = await build_template(Path(tmp))
        async with serve_hub(template, status_cache_seconds=2.0, answer_cache_seconds=2.0) as hub:
            adhoc = hub.members["adhoc"].organization_id
            for n in range(50):
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
                send = {
                    "caseId": case,
                    "receivingOrganizationId": adhoc,
                    "services": ["LEGAL_AID"],
                    "urgency": "URGENT",
                    "reason": "wants to file a complaint against the broker",
                    "idempotencyKey": f"bench-referral-{n:04d}",
                }
                result = await hub.gql("ccpcr-koh-kong", SEND, {"input": send})
                assert not result.errors, result.errors
            await grow(hub.settings.database_url, adhoc, 100)
            page = await hub.gql("adhoc", QUERIES["inbox"])
            assert not page.errors and len(page.data["referrals"]["edges"]) == 50, page.errors
            await grow(hub.settings.database_url, adhoc, 100)  # nothing to add: a checkpoint
            grown = Template(hub.settings.database_url, template.members, Path(tmp) / "big")
            grown.workdir.mkdir()
            same = Template(hub.settings.database_url, template.members, Path(tmp) / "same")
            same.workdir.mkdir()
            async with (
                serve_hub(same, status_cache_seconds=2.0, answer_cache_seconds=0.0) as uncached,
                serve_hub(grown, status_cache_seconds=2.0, answer_cache_seconds=2.0) as big,
            ):
                await grow(big.settings.database_url, adhoc, total)
                async with serve_anchors(page.data) as anchors:
                    conn.send(
                        {
                            "pid": os.getpid(),
                            "token": await hub.token("adhoc"),
                            # A token names its issuer, and each hub is its own issuer.
                            "token-10k": await big.token("adhoc"),
                            "token-uncached": await uncached.token("adhoc"),
                            "hub": f"{hub.base_url}/graphql",
                            "hub-uncached": f"{uncached.base_url}/graphql",
                            "hub-10k": f"{big.base_url}/graphql",
                            **anchors,
                        }
                    )
                    await loop.run_in_executor(None, conn.recv)  # "stop"
                    conn.send(None)


# --- the driver ------------------------------------------------------------------------------


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise TimeoutError("the benchmark ran past --time-limit")


def summary(runs: list[Run]) -> dict[str, float]:
    latencies = [t for r in runs for t in r.latencies]
    return {
        "rate": statistics.median(r.rate for r in runs),
        "cpu_ms": statistics.median(r.cpu_ms for r in runs),
        "p50": 1000 * pct(latencies, 50),
        "p99": 1000 * pct(latencies, 99),
        "max": 1000 * max(latencies),
        "failures": sum(r.failures for r in runs),
    }


Target = tuple[str, str, dict[str, str]]  # url, query, headers


def targets(args: argparse.Namespace, info: dict[str, Any]) -> dict[str, Target]:
    auth = {"Authorization": f"Bearer {info['token']}"}
    big_auth = {"Authorization": f"Bearer {info['token-10k']}"}
    uncached_auth = {"Authorization": f"Bearer {info['token-uncached']}"}
    if args.survivor:
        chosen = {
            "hub survivor fields": (info["hub-uncached"], QUERIES["survivor"], uncached_auth),
            "hub plain fields": (info["hub-uncached"], QUERIES["plain"], uncached_auth),
        }
    else:
        chosen = {
            "hub (100 referrals)": (info["hub"], QUERIES["inbox"], auth),
            "hub, no answer cache": (info["hub-uncached"], QUERIES["inbox"], uncached_auth),
            "hub (10,000 referrals)": (info["hub-10k"], QUERIES["inbox"], big_auth),
            "plain strawberry": (info["strawberry"], QUERIES["inbox"], {}),
            "bare starlette": (info["starlette"], QUERIES["inbox"], {}),
        }
    return chosen


def full_page(body: Any) -> bool:
    edges = (body.get("data") or {}).get("referrals", {}).get("edges", [])
    return not body.get("errors") and len(edges) == 50


async def drive(args: argparse.Namespace, info: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The Python load generator (bench/loadgen.py): every answer under load is checked."""
    runs: dict[str, list[Run]] = {name: [] for name in targets(args, info)}
    for _ in range(args.rounds):
        for name, (url, query, headers) in targets(args, info).items():
            runs[name].append(
                await load(
                    url,
                    {"query": query},
                    headers,
                    args.connections,
                    args.seconds,
                    full_page,
                    info["pid"],
                )
            )
    return {name: summary(r) for name, r in runs.items()}


def wrk_summary(runs: list[WrkRun]) -> dict[str, float]:
    """Medians over rounds; p50 is the median of the rounds' p50, p99 and max the highest."""
    return {
        "rate": statistics.median(r.rate for r in runs),
        "cpu_ms": statistics.median(r.cpu_ms for r in runs),
        "p50": 1000 * statistics.median(r.report.percentiles.get(50.0, math.nan) for r in runs),
        "p99": 1000 * max(r.report.percentiles.get(99.0, math.nan) for r in runs),
        "max": 1000 * max(r.report.latency_max for r in runs),
        "failures": sum(r.failures for r in runs),
        "load_cpu_ms": statistics.median(r.load_cpu_ms for r in runs),
    }


async def drive_wrk(
    args: argparse.Namespace, info: dict[str, Any], wrk: str, problems: list[str]
) -> dict[str, dict[str, float]]:
    """wrk as the load generator (bench/wrkload.py), one thread pinned to this process's core.

    Before each run the target's answer is checked once here as the Python driver checks every
    answer (status 200, no errors, 50 edges); under load the wrk script counts every answer
    whose status or bytes differ from that checked answer. Whatever went wrong in a run is
    appended to ``problems`` (counts only: an answer's content is never printed).
    """
    cores = os.sched_getaffinity(0)
    runs: dict[str, list[WrkRun]] = {name: [] for name in targets(args, info)}
    async with httpx.AsyncClient(timeout=30) as client:
        for round_ in range(1, args.rounds + 1):
            for name, (url, query, headers) in targets(args, info).items():
                body = json.dumps({"query": query}).encode()
                posted = {"Content-Type": "application/json", **headers}
                answer = await client.post(url, content=body, headers=posted)
                if answer.status_code != 200 or not full_page(answer.json()):
                    raise RuntimeError(
                        f"{name}: the answer checked before the load is not a full, error-free"
                        f" page (status {answer.status_code}); not loading it"
                    )
                result = wrk_load.run(
                    url,
                    body,
                    posted,
                    answer.status_code,
                    answer.content,
                    args.connections,
                    int(args.seconds),
                    info["pid"],
                    cores,
                    wrk,
                )
                if trouble := result.report.problems():
                    problems.append(f"{name}, round {round_}: {trouble}")
                runs[name].append(result)
    return {name: wrk_summary(r) for name, r in runs.items()}


def report(
    args: argparse.Namespace, results: dict[str, dict[str, float]], problems: list[str]
) -> None:
    print(
        f"inbox, 50 rows, {args.connections} connections, {args.rounds} rounds x {args.seconds} s"
    )
    wrk = args.load == "wrk"
    if wrk:
        print(
            "load generator: wrk, 1 thread (p50: median of the rounds' p50; p99, max: highest"
            " round; failed: socket errors and answers unlike the checked one; wrk ms/req: the"
            " load generator's own CPU per request)"
        )
    print(
        f"{'target':<24}{'req/s':>9}{'CPU ms/req':>12}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'failed':>8}" + (f"{'wrk ms/req':>12}" if wrk else "")
    )
    for name, s in results.items():
        print(
            f"{name:<24}{s['rate']:>9.1f}{s['cpu_ms']:>12.2f}{s['p50']:>9.1f}{s['p99']:>9.1f}"
            f"{s['max']:>9.1f}{s['failures']:>8.0f}" + (f"{s['load_cpu_ms']:>12.3f}" if wrk else "")
        )
    for problem in problems:  # wrk only: the Python driver's failures are its 'failed' column
        print(f"ERRORS: {problem}")
    if args.survivor:
        sv, pl = results["hub survivor fields"], results["hub plain fields"]
        print(f"survivor / plain fields, CPU per request: {sv['cpu_ms'] / pl['cpu_ms']:.2f}x")
        return
    hub, big = results["hub (100 referrals)"], results["hub (10,000 referrals)"]
    plain, bare = results["plain strawberry"], results["bare starlette"]
    uncached = results["hub, no answer cache"]
    print(
        f"hub / plain strawberry, req/s: {hub['rate'] / plain['rate']:.2f}x (goal >= 3x; "
        "a repeated, unchanged inbox from the validated answer cache)"
    )
    ratio = uncached["rate"] / plain["rate"]
    print(f"hub, no answer cache / plain strawberry, req/s: {ratio:.2f}x")
    print(f"hub / bare starlette, req/s: {hub['rate'] / bare['rate']:.3f}x")
    print(f"10,000 / 100 referrals, CPU per request: {big['cpu_ms'] / hub['cpu_ms']:.2f}x")
    print(f"slowest hub request: {max(hub['max'], big['max']):.0f} ms (goal < 1000 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--referrals", type=int, default=10_000)
    parser.add_argument("--survivor", action="store_true")
    parser.add_argument("--time-limit", type=int, default=240)
    parser.add_argument(
        "--load",
        choices=("python", "wrk"),
        default="python",
        help="the load generator: httpx in Python (default) or the wrk binary",
    )
    args = parser.parse_args()
    wrk = None
    if args.load == "wrk":
        if args.seconds != int(args.seconds) or args.seconds < 1:
            parser.error("--load wrk runs whole seconds: give --seconds as a whole number >= 1")
        wrk = wrk_load.find()
        if wrk is None:
            print(wrk_load.MISSING, file=sys.stderr)
            return 2
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(args.time_limit)
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=server_main, args=(there, args.referrals), daemon=True)
    server.start()
    try:
        while not here.poll(1):
            if not server.is_alive():
                raise RuntimeError("the server process died while setting up (see above)")
        info = here.recv()
        pin(-1)
        problems: list[str] = []
        if wrk is None:
            results = asyncio.run(drive(args, info))
        else:
            results = asyncio.run(drive_wrk(args, info, wrk, problems))
        call(here, "stop")
    finally:
        signal.alarm(0)
        server.join(10)
        if server.is_alive():
            server.terminate()
    report(args, results, problems)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
