"""Transactions end on every path: a failing sibling field, a cancelled task, a unit of work
held too long. A member's query that reads survivor fields beside a root field that fails
NOT_FOUND once stranded SQLite's write lock and froze every write for minutes."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import text

import consent.disclosure
from consent.disclosure import verify
from tests.api.test_disclosure_chain import OWNER, consented_case
from tests.api.transaction_support import settle
from tests.marker_watch import planted
from tests.network import RunningHub, Template, serve_hub

READER = "adhoc"
STRANDING = (
    "{ a: cases { edges { node { fullName } } } b: cases { edges { node { fullName } } } c: cases { edges { node { fullName } } } "
    'd: cases { edges { node { fullName } } } x: disclosures(caseId: "") { id } }'
)
CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
NEW_CASE = {"input": {"ageBand": "AGE_18_20", "sex": "MALE"}}
# A write on an idle hub takes milliseconds; a stranded lock made it wait 15 s and fail.
NORMAL_WRITE_SECONDS = 2.0


async def timed_write(hub: RunningHub) -> float:
    started = time.monotonic()
    created = await hub.gql(OWNER, CREATE, NEW_CASE)
    took = time.monotonic() - started
    assert created.status == 200 and not created.errors, created.errors
    return took


# 500 requests of six transactions each take over two minutes on a busy PostgreSQL.
@pytest.mark.timeout(420)
async def test_sibling_failures_500_times_leave_no_transaction_open(hub: RunningHub) -> None:
    # Given a case whose survivor data the legal-aid partner may read
    await consented_case(hub)
    await hub.token(READER)
    await hub.token(OWNER)

    # When its system sends the query beside a failing non-null field 500 times, ten at once
    for _ in range(50):
        results = await asyncio.gather(*(hub.gql(READER, STRANDING) for _ in range(10)))
        for result in results:
            # Then each answer is the refusal, without any of the data
            assert result.status == 200
            assert result.data is None
            assert result.codes == ["NOT_FOUND"], result.errors

    # And nothing is left open, and a write right after answers in normal time
    assert await settle(hub) == []
    assert await timed_write(hub) < NORMAL_WRITE_SECONDS
    async with hub.db.read() as session:
        assert (await verify(session)).intact


async def test_survivor_data_is_answered_only_with_its_disclosure_written(
    hub: RunningHub,
) -> None:
    await consented_case(hub)
    before = await hub.scalar("SELECT COUNT(*) FROM disclosures")

    # When the partner reads the case beside a field that fails, nothing is shown...
    failed = await hub.gql(READER, STRANDING)
    assert failed.data is None
    # ...and when it reads it alone, the data comes with its entry already on record
    shown = await hub.gql(READER, "{ cases { edges { node { id fullName } } } }")
    assert not shown.errors, shown.errors
    assert [e["node"]["fullName"] for e in shown.data["cases"]["edges"]] == [
        planted("Sokha Chainreader")
    ]
    entries = await hub.scalar(
        "SELECT COUNT(*) FROM disclosures WHERE request_id IS NOT NULL AND channel = 'QUERY'"
    )
    assert entries > before
    assert await settle(hub) == []


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (RuntimeError("disk full"), "INTERNAL"),
        (ConnectionRefusedError(111, "refused"), "UNAVAILABLE"),
    ],
)
async def test_no_disclosure_entry_means_no_data(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch, failure: Exception, code: str
) -> None:
    await consented_case(hub)
    await hub.token(READER)

    async def cannot_write(*_args: object, **_kwargs: object) -> None:
        raise failure

    # When the disclosure log cannot be written
    monkeypatch.setattr(consent.disclosure, "append", cannot_write)
    body = await hub.http.post(
        "/graphql",
        json={"query": "{ cases { edges { node { id fullName } } } }"},
        headers={"Authorization": f"Bearer {await hub.token(READER)}"},
    )

    # Then the answer carries no survivor data, only the reason
    assert "Sokha" not in body.text
    assert body.json()["data"] is None
    assert [e["extensions"]["code"] for e in body.json()["errors"]] == [code]
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures") == 0
    monkeypatch.undo()
    assert await settle(hub) == []


async def test_a_cancelled_unit_of_work_ends_and_frees_its_locks(hub: RunningHub) -> None:
    inside = asyncio.Event()

    async def cancelled_half_way() -> None:
        async with hub.db.write() as session:
            await session.execute(text("UPDATE organizations SET name = name"))
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(cancelled_half_way())
    await asyncio.wait_for(inside.wait(), 10)
    assert await settle(hub, within=0.1) != []  # it does hold a transaction
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await settle(hub, within=0.5) == []
    assert await timed_write(hub) < NORMAL_WRITE_SECONDS


async def test_the_watchdog_ends_a_transaction_held_past_its_bound(
    template: Template, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve_hub(template, transaction_limit=0.5) as hub:
        inside = asyncio.Event()

        async def forgotten() -> None:
            async with hub.db.write() as session:
                await session.execute(
                    text("UPDATE organizations SET name = name WHERE id <> :secret"),
                    {"secret": "Sokha Chainreader"},
                )
                inside.set()
                await asyncio.sleep(60)

        with caplog.at_level(logging.WARNING, logger="referral_hub.transactions"):
            task = asyncio.create_task(forgotten())
            await asyncio.wait_for(inside.wait(), 10)
            started = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
            assert time.monotonic() - started < 3
        assert await settle(hub) == []
        lines = [r.getMessage() for r in caplog.records if r.name == "referral_hub.transactions"]
        assert len(lines) == 1 and "write transaction held" in lines[0]
        assert "UPDATE" not in lines[0] and "Sokha" not in lines[0]
        assert await timed_write(hub) < NORMAL_WRITE_SECONDS
