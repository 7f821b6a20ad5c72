"""Compensation per survivor of a fishing-fleet prosecution: ADHOC records what the court
awarded each crew member and what was paid to her; each survivor's amounts are seen by ADHOC
and her case's owner, and by another party only under her consent for LEGAL (a disclosure)."""

from __future__ import annotations

from typing import Any

from tests.api.custody_support import consent_to
from tests.api.justice_support import JUDGMENT, LEGAL_AID, LINK, UPDATE, opened, survivor_case
from tests.api.repatriation_support import fetch
from tests.marker_watch import planted
from tests.network import RunningHub

RECORD = """
mutation($id: ID!, $case: ID!, $input: CompensationInput!) {
  recordSurvivorCompensation(legalCaseId: $id, caseId: $case, input: $input) { id status }
}"""
AMOUNTS = """
query($id: ID!) { legalCase(id: $id) { survivors { caseId compensation {
  awarded { amount currency } paid { amount currency } withheldReason } } } }"""


def money(stage: str, amount: str, currency: str = "USD") -> dict[str, str]:
    return {"stage": stage, "amount": amount, "currency": currency}


async def amounts(hub: RunningHub, who: str, lid: str) -> dict[str, Any]:
    seen = await hub.gql(who, AMOUNTS, {"id": lid})
    assert not seen.errors, seen.errors
    return {s["caseId"]: s["compensation"] for s in seen.data["legalCase"]["survivors"]}


async def record(hub: RunningHub, who: str, lid: str, case_id: str, **m: str) -> Any:
    return await hub.gql(who, RECORD, {"id": lid, "case": case_id, "input": money(**m)})


async def test_each_survivor_sees_her_own_compensation_and_others_only_with_consent(
    hub: RunningHub,
) -> None:
    mine = await survivor_case(hub, "ccpcr-shelter", planted("Sok Dara"))
    theirs = await survivor_case(hub, "ccpcr-koh-kong", planted("Ly Sreymom"))
    lid = (await opened(hub, "ccpcr-shelter", [mine], "comp-0001"))["id"]
    assert not (await hub.gql(LEGAL_AID, LINK, {"id": lid, "case": theirs})).errors
    before_judgment = await record(hub, LEGAL_AID, lid, mine, stage="AWARDED", amount="1500")
    assert before_judgment.codes == ["INVALID_TRANSITION"]
    for status in ("INVESTIGATION", "COURT"):
        assert not (await hub.gql(LEGAL_AID, UPDATE, {"id": lid, "status": status})).errors
    judged = await hub.gql(
        LEGAL_AID, JUDGMENT, {"id": lid, "input": {"verdict": "CONVICTED", "date": "2026-11-25"}}
    )
    assert not judged.errors, judged.errors

    early = await record(hub, LEGAL_AID, lid, theirs, stage="PAID", amount="900")
    assert early.codes == ["INVALID_TRANSITION"]
    for case_id, stage, amount in (
        (mine, "AWARDED", "1500"),
        (theirs, "AWARDED", "900.50"),
        (mine, "PAID", "1500.00"),
    ):
        done = await record(hub, LEGAL_AID, lid, case_id, stage=stage, amount=amount)
        assert not done.errors, done.errors

    both = {
        mine: {
            "awarded": {"amount": "1500.00", "currency": "USD"},
            "paid": {"amount": "1500.00", "currency": "USD"},
            "withheldReason": None,
        },
        theirs: {
            "awarded": {"amount": "900.50", "currency": "USD"},
            "paid": None,
            "withheldReason": None,
        },
    }
    assert await amounts(hub, LEGAL_AID, lid) == both
    # Each owner sees its own survivor's amounts; the other survivor's are withheld.
    shelter = await amounts(hub, "ccpcr-shelter", lid)
    assert shelter[mine] == both[mine]
    assert shelter[theirs]["awarded"] is None and shelter[theirs]["withheldReason"]
    koh_kong = await amounts(hub, "ccpcr-koh-kong", lid)
    assert koh_kong[theirs] == both[theirs] and koh_kong[mine]["awarded"] is None

    # Once her consent covers the shelter for LEGAL, it reads hers too: a disclosure.
    await consent_to(hub, theirs, "ccpcr-koh-kong", ["ccpcr-shelter"], ["LEGAL_AID"], ["LEGAL"])
    logged = "SELECT count(*) FROM disclosures WHERE case_id = :c AND organization_id = :o"
    shelter_id = hub.members["ccpcr-shelter"].organization_id
    before = await hub.scalar(logged, c=theirs, o=shelter_id)
    assert (await amounts(hub, "ccpcr-shelter", lid))[theirs] == both[theirs]
    assert await hub.scalar(logged, c=theirs, o=shelter_id) == before + 1

    # The event names the survivor's case and the stage, never an amount.
    payloads = await fetch(
        hub,
        "SELECT payload FROM events WHERE subject_id = :l AND type = :t",
        l=lid,
        t="SURVIVOR_COMPENSATION_RECORDED",
    )
    assert len(payloads) == 3 and all("1500" not in str(p) for (p,) in payloads)
    sealed = await fetch(hub, "SELECT amount_sealed FROM legal_case_survivor_compensations")
    assert len(sealed) == 3 and all("1500" not in s and "USD" not in s for (s,) in sealed)


async def test_refused_compensation_writes_nothing(hub: RunningHub) -> None:
    mine = await survivor_case(hub, "ccpcr-shelter", planted("Keo Sophal"))
    other = await survivor_case(hub, "ccpcr-shelter", planted("Chea Bopha"))
    lid = (await opened(hub, "ccpcr-shelter", [mine], "comp-0002"))["id"]
    for status in ("INVESTIGATION", "COURT"):
        assert not (await hub.gql(LEGAL_AID, UPDATE, {"id": lid, "status": status})).errors
    judged = await hub.gql(
        LEGAL_AID, JUDGMENT, {"id": lid, "input": {"verdict": "CONVICTED", "date": "2026-11-25"}}
    )
    assert not judged.errors, judged.errors
    assert not (await record(hub, LEGAL_AID, lid, mine, stage="AWARDED", amount="100")).errors
    count = "SELECT count(*) FROM legal_case_survivor_compensations"
    before = await hub.scalar(count)
    refusals: list[tuple[str, str, dict[str, str], str]] = [
        ("ccpcr-shelter", mine, money("PAID", "100"), "FORBIDDEN"),  # not legal aid
        ("ngo-malaysia", mine, money("PAID", "100"), "NOT_FOUND"),  # no party
        (LEGAL_AID, other, money("AWARDED", "100"), "BAD_USER_INPUT"),  # not linked
        (LEGAL_AID, mine, money("AWARDED", "100"), "CONFLICT"),  # each stage once
        (LEGAL_AID, mine, money("PAID", "-5"), "BAD_USER_INPUT"),
        (LEGAL_AID, mine, money("PAID", "5", "XYZ"), "BAD_USER_INPUT"),
    ]
    for who, case_id, m, expected in refusals:
        refused = await hub.gql(who, RECORD, {"id": lid, "case": case_id, "input": m})
        assert refused.codes == [expected], (who, m, refused.body)
    no_scope = await hub.gql(
        None,
        RECORD,
        {"id": lid, "case": mine, "input": money("PAID", "100")},
        token=await hub.token(LEGAL_AID, scope="cases:read"),
    )
    assert no_scope.codes == ["FORBIDDEN"]
    assert await hub.scalar(count) == before
