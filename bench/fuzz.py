"""Fuzz a demo hub with operations generated from its live schema and print what came back.

    .venv/bin/python bench/fuzz.py [--operations 10000] [--seed N]

The same generator and verdicts as tests/api/test_fuzzing.py (a few hundred there), at a
volume a test run cannot afford. Runs on SQLite, or on PostgreSQL when
HUB_TEST_DATABASE_URL is set. Exits 1 if any operation got a 5xx, a non-JSON body, an
INTERNAL, a stack trace or SQL, or left a write lock held.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded
from hypothesis import strategies as st

from tests.api.fuzz_support import (
    FUZZERS,
    Tally,
    fuzz_one,
    live_schema,
    on_loop,
    operations,
)
from tests.network import backend, build_template, drop_template, serve_hub


async def fuzz(count: int, seed: int) -> Tally:
    template = await build_template(Path(tempfile.mkdtemp(prefix="hub-fuzz-")))
    tally = Tally()
    try:
        async with serve_hub(template) as hub:
            strategy = operations(await live_schema(hub))
            run = on_loop(asyncio.get_running_loop())

            @seeded(seed)
            @settings(
                max_examples=count,
                deadline=None,
                database=None,
                derandomize=False,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(who=st.sampled_from(FUZZERS), query=strategy)
            def send(who: str, query: str) -> None:
                run(fuzz_one(hub, who, query, tally))  # failures are tallied, not raised

            await asyncio.to_thread(send)
    finally:
        await drop_template(template)
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    started = time.perf_counter()
    tally = asyncio.run(fuzz(args.operations, seed))
    elapsed = time.perf_counter() - started
    print(f"backend {backend()}  seed {seed}  operations {tally.sent}  {elapsed:.1f} s")
    print("statuses:", dict(sorted(tally.statuses.items())))
    print("codes:   ", dict(tally.codes.most_common()))
    kinds = Counter(problem for _, _, problems in tally.failures for problem in problems)
    print("failures:", dict(kinds.most_common()) or 0)
    for who, query, problems in tally.failures[:10]:
        print(f"  {problems} as {who}: {query[:300]!r}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
