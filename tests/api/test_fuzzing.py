"""Fuzzing is part of the suite: operations generated from the live schema, sent by the
network's coordinator and by a shelter, must never meet a 5xx, a non-JSON body, an INTERNAL,
a stack trace or SQL, nor leave a write lock held once the hub has answered.

A few hundred operations per run, from a fresh random seed that a failure prints; replay it
with ``HUB_FUZZ_SEED=<seed>`` (and more with ``HUB_FUZZ_EXAMPLES``, or ``bench/fuzz.py``).
"""

from __future__ import annotations

import asyncio
import os
import secrets

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.api.fuzz_support import FUZZERS, Tally, fuzz_one, live_schema, on_loop, operations
from tests.network import RunningHub

SEED = int(os.environ.get("HUB_FUZZ_SEED") or secrets.randbelow(2**32))
# Per fuzzer: 300 operations a run in all, each half well inside the per-test timeout.
EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES") or 150)


@pytest.mark.parametrize("who", FUZZERS)
async def test_operations_generated_from_the_schema_never_break_the_hub(
    hub: RunningHub, who: str
) -> None:
    print(f"fuzz seed {SEED} ({EXAMPLES} operations as {who})")
    strategy = operations(await live_schema(hub))
    run = on_loop(asyncio.get_running_loop())
    tally = Tally()

    @hypothesis.seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(query=strategy)
    def operation_is_answered_cleanly(query: str) -> None:
        problems = run(fuzz_one(hub, who, query, tally))
        assert not problems, f"{problems} for {who}: {query}"

    try:
        await asyncio.to_thread(operation_is_answered_cleanly)
    except AssertionError as failure:
        raise AssertionError(
            f"fuzz seed {SEED} (replay: HUB_FUZZ_SEED={SEED}): {failure}"
        ) from None
    # The fuzzer reached the hub: answers came back, and not only refusals of one kind.
    assert tally.sent >= EXAMPLES // 2, tally
    assert len(tally.codes) > 1, tally.codes
