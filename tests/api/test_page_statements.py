"""An inbox page costs the same number of SQL statements for 10 rows as for 100.

Counted on the hub's own engine while one real HTTP request runs, token check included
(revocation and client standing; the tests' standing cache is off, so it is read every time).
Background work (the event pump's fallback poll, key refreshes) may add a statement at any
moment: each size is counted three times and the smallest count kept.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from cases.models import CaseParty, Referral
from tests.api.test_cases_flow import CONSENT, open_case
from tests.api.test_referral_flow import SEND
from tests.network import RunningHub

INBOX = """
query($first: Int!) {
  referrals(box: INBOX, first: $first) {
    edges { node { id status urgency sender { id name } receiver { id name } case { id status } } }
  }
}"""

# What the hub reaches (the target is at most 4), in one read transaction: the token
# check (revocation and client standing in one statement); the page with each referral's
# case joined under the visibility filter; the organisations. No text, sealed field or
# `withheld` list is selected, so no grant, party or sealed row is loaded.
STATEMENTS_PER_PAGE = 3
# With a text, survivor fields and `withheld` selected, 7 (10 before the case facts were
# one statement): the token check; the page; the text's case keys and its grants; the
# cases' grants, parties, keys, erasures and asked sealed values in one statement
# (``cases.case_facts``); then the disclosure write: the chain's head and one insert of
# every entry (on PostgreSQL after the chain's advisory lock, one statement more).
SURVIVOR_STATEMENTS_PER_PAGE = 7


async def refer_cases(hub: RunningHub, count: int) -> None:
    """ccpcr-koh-kong opens ``count`` cases with consent for adhoc and refers each to it."""
    adhoc = hub.members["adhoc"].organization_id
    for n in range(count):
        case = await open_case(hub, owner="ccpcr-koh-kong")
        consent: dict[str, Any] = {
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
            "idempotencyKey": f"page-statements-{n:04d}",
        }
        result = await hub.gql("ccpcr-koh-kong", SEND, {"input": send})
        assert not result.errors, result.errors


async def copy_referrals(hub: RunningHub, total: int) -> None:
    """Older copies of adhoc's referrals (with their party rows) until its inbox holds
    ``total``: a big inbox without hundreds of slow sends."""
    adhoc = hub.members["adhoc"].organization_id
    async with hub.db.write() as session:
        seeds = [
            dict(r._mapping)
            for r in await session.execute(
                select(Referral.__table__).where(Referral.receiver_organization_id == adhoc)
            )
        ]
        parties = {
            r.source_id: dict(r._mapping)
            for r in await session.execute(
                select(CaseParty.__table__).where(CaseParty.source_id.in_([s["id"] for s in seeds]))
            )
        }
        rows, party_rows = [], []
        for n in range(total - len(seeds)):
            seed, new_id = seeds[n % len(seeds)], str(uuid.uuid4())
            rows.append(
                {
                    **seed,
                    "id": new_id,
                    "idempotency_key": new_id,
                    "created_at": seed["created_at"] - timedelta(days=1 + n),
                }
            )
            party = {**parties[seed["id"]], "source_id": new_id}
            party.pop("id")
            party_rows.append(party)
        await session.execute(insert(Referral.__table__), rows)
        await session.execute(insert(CaseParty.__table__), party_rows)


def seen_by(seen: list[str]) -> Any:
    """A ``before_cursor_execute`` listener that keeps each statement's text in ``seen``."""

    def count(*args: Any) -> None:
        # SQLite's driver sends BEGIN as a statement, asyncpg does not: count the queries.
        if not args[2].startswith("BEGIN"):
            seen.append(args[2])

    return count


async def statements_for_page(hub: RunningHub, first: int, query: str = INBOX) -> int:
    counts = []
    token = await hub.token("adhoc")
    for _ in range(3):
        seen: list[str] = []
        count = seen_by(seen)
        engine = hub.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            result = await hub.gql(None, query, {"first": first}, token=token)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert not result.errors, result.errors
        assert len(result.data["referrals"]["edges"]) == first
        counts.append(len(seen))
    return min(counts)


async def transactions_for_page(hub: RunningHub, first: int, query: str = INBOX) -> int:
    """Transactions begun on the hub's engine while one page is served (fewest of three)."""
    counts = []
    token = await hub.token("adhoc")
    for _ in range(3):
        begun: list[object] = []
        began = begun.append
        engine = hub.db.engine.sync_engine
        event.listen(engine, "begin", began)
        try:
            result = await hub.gql(None, query, {"first": first}, token=token)
        finally:
            event.remove(engine, "begin", began)
        assert not result.errors, result.errors
        counts.append(len(begun))
    return min(counts)


# Counts statements over repeated identical queries: each must execute.
@pytest.mark.no_answer_cache
async def test_an_inbox_page_costs_the_same_statements_for_10_and_100_rows(
    hub: RunningHub,
) -> None:
    # 20 distinct cases: a per-case query would show between the 10-row and 100-row pages.
    await refer_cases(hub, 20)
    await copy_referrals(hub, 120)
    ten = await statements_for_page(hub, 10)
    hundred = await statements_for_page(hub, 100)
    assert ten == hundred == STATEMENTS_PER_PAGE, (ten, hundred)


async def test_the_count_includes_the_token_check_and_the_page(hub: RunningHub) -> None:
    """The counter itself: it sits on the engine the request uses, token check included."""
    await refer_cases(hub, 3)
    token = await hub.token("adhoc")
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    engine = hub.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = await hub.gql(None, INBOX, {"first": 3}, token=token)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert not result.errors and len(result.data["referrals"]["edges"]) == 3
    assert any("FROM revoked_tokens" in sql for sql in seen), seen
    assert any("FROM referrals" in sql for sql in seen), seen


SURVIVOR_INBOX = """
query($first: Int!) {
  referrals(box: INBOX, first: $first) {
    edges { node { id reason case { id fullName legalNotes withheld { field reason } } } }
  }
}"""


# Counts transactions over repeated identical queries: each must execute.
@pytest.mark.no_answer_cache
async def test_an_inbox_page_is_one_read_transaction_token_check_included(
    hub: RunningHub,
) -> None:
    await refer_cases(hub, 3)
    assert await transactions_for_page(hub, 3) == 1


async def test_survivor_fields_cost_the_same_statements_for_10_and_100_rows(
    hub: RunningHub,
) -> None:
    """Texts, then the cases' grants, parties, keys, erasures and sealed fields together:
    the same statements whatever the page size; the disclosures they amount to are one
    short write after the read."""
    await refer_cases(hub, 20)
    await copy_referrals(hub, 120)
    ten = await statements_for_page(hub, 10, SURVIVOR_INBOX)
    hundred = await statements_for_page(hub, 100, SURVIVOR_INBOX)
    chain_lock = 1 if hub.db.dialect == "postgresql" else 0
    assert ten == hundred == SURVIVOR_STATEMENTS_PER_PAGE + chain_lock, (ten, hundred)
    # One read transaction and one write (the disclosure entries).
    assert await transactions_for_page(hub, 10, SURVIVOR_INBOX) == 2
