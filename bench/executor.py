"""Executor benchmark: the inbox page completed by the hub's executor and by strawberry's own.

Run from the repository root (in-process, no network, a few seconds):

    .venv/bin/python bench/executor.py [--rounds 5] [--repeat 200] [--rows 50]

Both executors run the inbox query (``bench.inbox.QUERIES["inbox"]``) on the same schema of
the inbox's shape (the types of ``bench.anchors``, rows held as plain objects in memory, as the
hub's read path hands them over), with the hub's parse and validation caches, interleaved
round by round. Only execution is timed: no HTTP, no database, no JSON encoding. The answers
are checked to be the same bytes before timing.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bench.anchors import CaseRef, Connection, Edge, Org, Referral, ReferralBox
from bench.inbox import QUERIES
from schema.executor import FlatMemoryExecutor
from schema.fast_completion import FAST_PATH


def inbox_schema(rows: int, executor: Any) -> strawberry.Schema:
    sender = Org(id=strawberry.ID("org-sender"), name="Koh Kong shelter")
    receiver = Org(id=strawberry.ID("org-receiver"), name="Legal aid")
    edges = [
        Edge(
            node=Referral(
                id=strawberry.ID(f"referral-{n:04d}"),
                status="SENT",
                urgency="URGENT",
                sender=sender,
                receiver=receiver,
                case=CaseRef(id=strawberry.ID(f"case-{n:04d}"), status="REFERRED"),
            )
        )
        for n in range(rows)
    ]

    @strawberry.type
    class Query:
        @strawberry.field
        def referrals(self, box: ReferralBox, first: int = 20) -> Connection:
            return Connection(edges=edges[:first])

    return strawberry.Schema(
        query=Query,
        execution_context_class=executor,
        extensions=[lambda: ParserCache(maxsize=16), lambda: ValidationCache(maxsize=16)],
    )


def per_execution_us(schema: strawberry.Schema, query: str, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        schema.execute_sync(query)
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()
    query = QUERIES["inbox"].replace("first: 50", f"first: {args.rows}")
    fast = inbox_schema(args.rows, FlatMemoryExecutor)
    standard = inbox_schema(args.rows, StrawberryGraphQLCoreExecutionContext)

    answers = {orjson.dumps(s.execute_sync(query).data) for s in (fast, standard)}
    assert len(answers) == 1, "the executors answer differently"
    before = FAST_PATH.objects
    fast.execute_sync(query)
    taken = FAST_PATH.objects - before

    gc.collect()
    gc.freeze()  # as the hub does after start-up
    times: dict[str, list[float]] = {"hub executor": [], "strawberry executor": []}
    for _ in range(args.rounds):
        times["hub executor"].append(per_execution_us(fast, query, args.repeat))
        times["strawberry executor"].append(per_execution_us(standard, query, args.repeat))
    gc.unfreeze()

    print(f"inbox page, {args.rows} rows; fast path completed {taken} list items per execution")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"  {name:20s} {median:8.0f} µs per execution (median of {args.rounds})")
    ratio = medians["strawberry executor"] / medians["hub executor"]
    print(f"hub executor is {ratio:.2f}x as fast as strawberry's on this page")


if __name__ == "__main__":
    main()
