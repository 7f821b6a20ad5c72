"""The answer cache (gateway/answers.py) over real HTTP: a repeated read-only query is
answered from it only while the token, the principal, the request and the data are the same,
and only after every usual check; anything else runs as before."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from gateway.settings import Settings
from store.engine import standalone_engine
from store.generation import data_generation
from tests.api.custody_support import consent_to
from tests.api.event_support import REINSTATE, SUSPEND
from tests.api.repatriation_support import do
from tests.api.repatriation_support import open_case as assessment_case
from tests.api.test_assessment import READ as READ_ASSESSMENT
from tests.api.test_assessment import RECORD as RECORD_ASSESSMENT
from tests.api.test_assessment import assessment
from tests.api.test_cases_flow import CONSENT, open_case
from tests.api.test_page_statements import SURVIVOR_INBOX, refer_cases
from tests.api.test_referral_flow import SEND
from tests.network import RunningHub, Template, backend, serve_hub

INBOX = """
query($first: Int!) {
  referrals(box: INBOX, first: $first) {
    edges { node { id urgency sender { id name } case { id status } } }
  }
}"""
# Request ids differ per request, and so may the date: everything else must not.
PER_REQUEST = {"x-request-id", "date"}


@pytest.fixture
async def cached(template: Template) -> AsyncIterator[RunningHub]:
    async with serve_hub(template, answer_cache_seconds=60.0) as running:
        await refer_cases(running, 2)
        yield running


async def refer_another(hub: RunningHub) -> None:
    """One more case referred to adhoc, through the mutations a partner uses."""
    adhoc = hub.members["adhoc"].organization_id
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
        "idempotencyKey": "answer-cache-another",
    }
    assert not (await hub.gql("ccpcr-koh-kong", SEND, {"input": send})).errors


def hits(hub: RunningHub) -> int:
    return int(hub.app.state.answers.hits)


async def post(
    hub: RunningHub,
    token: str,
    query: str = INBOX,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    return await hub.http.post(
        "/graphql",
        json={"query": query, "variables": variables or {"first": 10}},
        headers={"Authorization": f"Bearer {token}"},
    )


def headers_of(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k not in PER_REQUEST)


async def test_a_repeated_query_is_served_byte_for_byte(
    cached: RunningHub, caplog: pytest.LogCaptureFixture
) -> None:
    token = await cached.token("adhoc")
    with caplog.at_level(logging.INFO, logger="referral_hub.operations"):
        first = await post(cached, token)
        # On PostgreSQL the snapshot is the whole cluster's, shared with other test runs:
        # a commit anywhere in it is a miss, so allow a few tries there.
        for _ in range(1 if backend() == "sqlite" else 5):
            caplog.clear()
            first = await post(cached, token)
            before = hits(cached)
            second = await post(cached, token)
            if hits(cached) == before + 1:
                break
    assert hits(cached) == before + 1
    assert first.status_code == second.status_code == 200
    assert "errors" not in first.json() and len(first.json()["data"]["referrals"]["edges"]) == 2
    assert second.content == first.content
    assert headers_of(second) == headers_of(first)
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    # The operations log line of a hit is the miss's, with its own request id.
    lines = [r for r in caplog.records if r.name == "referral_hub.operations"]
    assert [(r.getMessage(), r.outcome) for r in lines] == [
        ("graphql query referrals: OK", "OK")
    ] * 2
    assert [r.request_id for r in lines] == [
        first.headers["x-request-id"],
        second.headers["x-request-id"],
    ]


async def test_a_mutation_in_between_is_seen(cached: RunningHub) -> None:
    token = await cached.token("adhoc")
    first = await post(cached, token)
    await refer_another(cached)
    before = hits(cached)
    after = await post(cached, token)
    assert hits(cached) == before
    assert (
        len(after.json()["data"]["referrals"]["edges"])
        == 3
        != len(first.json()["data"]["referrals"]["edges"])
    )


async def test_a_write_from_another_process_is_seen(cached: RunningHub) -> None:
    """A raw write on a connection of its own (as the command line would make)."""
    token = await cached.token("adhoc")
    first = await post(cached, token)
    assert b"Renamed by another process" not in first.content
    sender = cached.members["ccpcr-koh-kong"].organization_id
    engine = standalone_engine(cached.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE organizations SET name = :name WHERE id = :id"),
                {"name": "Renamed by another process", "id": sender},
            )
    finally:
        await engine.dispose()
    before = hits(cached)
    after = await post(cached, token)
    assert hits(cached) == before
    assert b"Renamed by another process" in after.content


async def test_never_served_to_another_token_principal_or_request(cached: RunningHub) -> None:
    token = await cached.token("adhoc")
    await post(cached, token)
    others = [
        (cached, (await cached.fetch_token("adhoc"))["access_token"], None),  # same client
        (cached, await cached.token("adhoc", "cases:read"), None),  # other scopes
        (cached, await cached.token("ngo-thailand"), None),  # another organisation
        (cached, token, {"first": 1}),  # other variables
    ]
    for hub, other, variables in others:
        before = hits(hub)
        response = await post(hub, other, variables=variables)
        assert response.status_code == 200
        assert hits(hub) == before, (other == token, variables)
    narrow = await post(cached, await cached.token("adhoc", "cases:read"))
    assert narrow.content != (await post(cached, token)).content


async def test_a_revoked_token_is_refused_with_a_warm_entry(cached: RunningHub) -> None:
    token = (await cached.fetch_token("adhoc"))["access_token"]
    await post(cached, token)
    await post(cached, token)  # warm
    async with cached.oauth_client("adhoc") as client:
        response = await client.revoke_token(f"{cached.base_url}/oauth/revoke", token=token)
    assert response.status_code == 200
    assert (await post(cached, token)).status_code == 401


async def test_a_suspended_organisation_is_refused_with_a_warm_entry(cached: RunningHub) -> None:
    token = await cached.token("adhoc")
    await post(cached, token)
    org = cached.members["adhoc"].organization_id
    result = await cached.gql("secretariat", SUSPEND, {"id": org})
    assert not result.errors, result.errors
    assert (await post(cached, token)).status_code == 401
    result = await cached.gql("secretariat", REINSTATE, {"id": org})
    assert not result.errors, result.errors


async def test_survivor_reads_are_never_cached_and_always_disclosed(cached: RunningHub) -> None:
    token = await cached.token("adhoc")
    count = "SELECT COUNT(*) FROM disclosures"
    for _ in range(3):
        before, hits_before = await cached.scalar(count), hits(cached)
        response = await post(cached, token, SURVIVOR_INBOX)
        body = response.json()
        assert "errors" not in body and body["data"]["referrals"]["edges"][0]["node"]["case"]
        assert await cached.scalar(count) > before
        assert hits(cached) == hits_before
    assert len(cached.app.state.answers) == 0  # not even stored


async def test_a_read_that_writes_its_own_disclosure_is_never_stored(cached: RunningHub) -> None:
    """A case assessment's read records its disclosure itself (not through the operation's
    batch); the answer holding the sealed notes must not be kept either."""
    case_id = await assessment_case(cached)
    await consent_to(cached, case_id, "adhoc", ["ccpcr-shelter"], ["SERVICE_REFERRAL"], ["HEALTH"])
    await do(cached, "adhoc", RECORD_ASSESSMENT, assessment(case_id), "recordAssessment")
    token = await cached.token("ccpcr-shelter")
    count = "SELECT COUNT(*) FROM disclosures"
    for _ in range(2):
        before, hits_before = await cached.scalar(count), hits(cached)
        response = await post(cached, token, READ_ASSESSMENT, {"id": case_id})
        body = response.json()
        assert "errors" not in body and body["data"]["caseAssessment"]["needsNote"]
        assert await cached.scalar(count) > before
        assert hits(cached) == hits_before
    assert len(cached.app.state.answers) == 0  # not even stored


async def test_answers_with_errors_are_not_cached(cached: RunningHub) -> None:
    token = await cached.token("adhoc")
    query = '{ referral(id: "no-such-referral") { id } }'
    for _ in range(2):
        before = hits(cached)
        response = await post(cached, token, query, {})
        assert "errors" in response.json()
        assert hits(cached) == before
    assert len(cached.app.state.answers) == 0


async def test_an_entry_older_than_the_ttl_is_recomputed(cached: RunningHub) -> None:
    token = await cached.token("adhoc")
    await post(cached, token)
    answers = cached.app.state.answers
    answers.ttl = 0.05
    await post(cached, token)
    before = hits(cached)
    await asyncio.sleep(0.1)
    await post(cached, token)
    assert hits(cached) == before


async def test_zero_turns_the_cache_off(template: Template) -> None:
    async with serve_hub(template, answer_cache_seconds=0.0) as hub:
        await refer_cases(hub, 1)
        token = await hub.token("adhoc")
        for _ in range(3):
            assert (await post(hub, token)).status_code == 200
        assert hits(hub) == 0 and len(hub.app.state.answers) == 0


async def test_the_generation_changes_with_a_commit_from_another_connection(
    cached: RunningHub,
) -> None:
    """SQLite's counter, PostgreSQL's snapshot (store/generation.py), read as the token check
    reads it; the write commits on a connection of its own."""
    engine = standalone_engine(cached.settings.database_url)
    read = select(data_generation())
    try:
        async with engine.connect() as reader:
            first = (await reader.execute(read)).scalar_one()
            await reader.rollback()
            if backend() == "sqlite":  # PostgreSQL's cluster is shared: others commit too
                assert (await reader.execute(read)).scalar_one() == first
                await reader.rollback()
            async with engine.begin() as writer:
                await writer.execute(
                    text("UPDATE organizations SET name = name || '.' WHERE id = :id"),
                    {"id": cached.members["adhoc"].organization_id},
                )
            second = (await reader.execute(read)).scalar_one()
    finally:
        await engine.dispose()
    assert first is not None and second is not None and second != first


async def test_test_hubs_run_with_the_production_default(hub: RunningHub) -> None:
    """Every suite's hub caches answers as production does (Settings' default)."""
    assert hub.settings.answer_cache_seconds == Settings().answer_cache_seconds > 0
    for _ in range(2):
        assert not (await hub.gql("adhoc", "query { viewer { clientId } }")).errors
    assert hits(hub) == 1


@pytest.mark.no_answer_cache  # the marker itself: a test that must see every execution
async def test_the_no_answer_cache_mark_turns_it_off(hub: RunningHub) -> None:
    assert hub.settings.answer_cache_seconds == 0.0
    for _ in range(2):
        assert not (await hub.gql("adhoc", "query { viewer { clientId } }")).errors
    assert hits(hub) == 0
