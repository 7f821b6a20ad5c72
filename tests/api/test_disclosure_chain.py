"""The disclosure log under load: partners reading at the same moment never fork the chain.

Legal aid and the shelter both work the same survivor's case and their systems read it at
the same time; every read is one entry, and the chain of entries stays whole.
"""

from __future__ import annotations

import asyncio

from consent.disclosure import GENESIS, verify
from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

OWNER = "ccpcr-koh-kong"
NAME = planted("Sokha Chainreader")
READERS = ("adhoc", "ccpcr-shelter")
READS = 20
READ = "query($id: ID!) { case(id: $id) { id fullName legalNotes healthNotes } }"
LOG = (
    "query($id: ID!) { disclosures(caseId: $id) "
    "{ id organizationId categories consentId consentVersion channel requestId } }"
)


async def consented_case(hub: RunningHub) -> tuple[str, str]:
    created = await hub.gql(
        OWNER,
        "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }",
        {
            "input": {
                "ageBand": "AGE_27_29",
                "sex": "FEMALE",
                "survivor": {
                    "fullName": NAME,
                    "legalNotes": planted("labour complaint in Songkhla"),
                    "healthNotes": planted("no known conditions"),
                },
            }
        },
    )
    assert not created.errors, created.errors
    case_id = str(created.data["createCase"]["id"])
    granted = await hub.gql(
        OWNER,
        "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }",
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["LEGAL_AID", "SERVICE_REFERRAL"],
                "categories": ["IDENTITY", "LEGAL", "HEALTH"],
                "recipientOrganizationIds": [hub.members[m].organization_id for m in READERS],
            }
        },
    )
    assert not granted.errors, granted.errors
    return case_id, str(granted.data["recordConsent"]["id"])


async def test_concurrent_reads_by_two_partners_extend_one_unbroken_chain(
    hub: RunningHub,
) -> None:
    case_id, consent_id = await consented_case(hub)
    for member in READERS:
        await hub.token(member)  # tokens first: the reads themselves go out together
    before = await hub.scalar("SELECT COUNT(*) FROM disclosures")
    assert before == 0

    # When both partners read the case twenty times at once
    readers = [READERS[i % 2] for i in range(READS)]
    results: list[GraphQLResult] = await asyncio.gather(
        *(hub.gql(member, READ, {"id": case_id}) for member in readers)
    )

    # Then every read saw the data and was logged once
    for result in results:
        assert not result.errors, result.errors
        assert result.data["case"]["fullName"] == NAME
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures") == READS

    log = await hub.gql(OWNER, LOG, {"id": case_id})
    entries = log.data["disclosures"]
    assert [int(e["id"]) for e in entries] == list(range(1, READS + 1))
    org = {m: hub.members[m].organization_id for m in READERS}
    assert sorted(e["organizationId"] for e in entries) == sorted(org[m] for m in readers)
    assert {e["consentId"] for e in entries} == {consent_id}
    assert all(e["categories"] == ["HEALTH", "IDENTITY", "LEGAL"] for e in entries)
    assert all(e["channel"] == "QUERY" and e["consentVersion"] == 1 for e in entries)
    assert len({e["requestId"] for e in entries}) == READS

    # and the chain has no fork: each entry follows exactly one other, and it verifies
    async with hub.db.read() as session:
        report = await verify(session)
    assert report.intact, report
    assert report.entries == READS
    prevs = await hub.scalar("SELECT COUNT(DISTINCT prev_hash) FROM disclosures")
    assert prevs == READS
    assert await hub.scalar("SELECT prev_hash FROM disclosures WHERE id = 1") == GENESIS
    last = await hub.scalar("SELECT hash FROM disclosures WHERE id = :id", id=READS)
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures WHERE prev_hash = :h", h=last) == 0


async def test_reads_that_race_with_new_cases_and_consent_keep_the_chain_whole(
    hub: RunningHub,
) -> None:
    case_id, _ = await consented_case(hub)
    for member in (*READERS, OWNER):
        await hub.token(member)

    # Reads, the owner opening more cases, and the owner listing its cases, all at once
    work = [hub.gql(READERS[i % 2], READ, {"id": case_id}) for i in range(READS)]
    work += [consented_case(hub) for _ in range(3)]  # type: ignore[misc]
    work += [
        hub.gql(
            READERS[i % 2], "{ cases(first: 100) { edges { node { id fullName healthNotes } } } }"
        )
        for i in range(6)
    ]
    done = await asyncio.gather(*work)
    for result in done:
        if isinstance(result, GraphQLResult):
            assert not result.errors, result.errors

    async with hub.db.read() as session:
        report = await verify(session)
    assert report.intact, report
    # 20 reads of the case, and 6 lists that each show at least that case
    count = await hub.scalar("SELECT COUNT(*) FROM disclosures")
    assert report.entries == count >= READS + 6
