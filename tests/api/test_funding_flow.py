"""ADHOC pays for a return it did not ask for: named as funder on the Thai NGO's repatriation
request, it records air tickets, food, accommodation and living costs there, and reads its
costs per currency and period, never the survivor's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.reintegration_support import (
    FUNDING,
    NAME_FUNDER,
    RECORD_COST,
    REPORT,
    a_plan,
)
from tests.api.repatriation_support import (
    COST,
    REQUEST,
    VIEW,
    do,
    give_consent,
    open_case,
    orgs,
    request_input,
)
from tests.network import RunningHub

REP = "REPATRIATION_REQUEST"


async def thai_request(hub: RunningHub, key: str) -> tuple[str, str]:
    """The NGO in Thailand's case and its request to the embassy in Bangkok."""
    case_id = await open_case(hub, owner="ngo-thailand")
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"], owner="ngo-thailand")
    sent = await do(
        hub,
        "ngo-thailand",
        REQUEST,
        {"input": request_input(hub, case_id, key)},
        "requestRepatriation",
    )
    return case_id, sent["id"]


def cost(item: str, amount: str, currency: str, **more: str) -> dict[str, str]:
    return {"item": item, "amount": amount, "currency": currency, **more}


async def test_adhoc_named_as_funder_records_the_costs_of_a_return(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id, rid = await thai_request(hub, "fund-flow-0001")
    target = {"kind": REP, "id": rid}

    # Not named yet: for ADHOC the request does not exist.
    unnamed = await hub.gql("adhoc", RECORD_COST, {**target, "input": cost("FOOD", "10", "THB")})
    assert unnamed.codes == ["NOT_FOUND"]
    assert await hub.scalar("SELECT count(*) FROM funded_costs") == 0

    named = await do(
        hub, "ngo-thailand", NAME_FUNDER, {**target, "funder": org["adhoc"]}, "nameFunder"
    )
    assert named["funders"] == [{"organizationId": org["adhoc"], "namedBy": org["ngo-thailand"]}]
    assert sorted(named["partyIds"]) == sorted(
        [org["ngo-thailand"], org["embassy-bangkok"], org["mosavy"]]
    )
    for item, amount, currency in [
        ("AIR_TICKET", "4200", "THB"),
        ("FOOD", "350.50", "THB"),
        ("ACCOMMODATION", "1200", "THB"),
        ("LIVING_ALLOWANCE", "150", "USD"),
    ]:
        funded = await do(
            hub,
            "adhoc",
            RECORD_COST,
            {**target, "input": cost(item, amount, currency)},
            "recordCost",
        )
    assert [c["item"] for c in funded["costs"]] == [
        "AIR_TICKET",
        "FOOD",
        "ACCOMMODATION",
        "LIVING_ALLOWANCE",
    ]
    assert {c["funderId"] for c in funded["costs"]} == {org["adhoc"]}
    assert funded["totals"] == [
        {"currency": "THB", "amount": "5750.50"},
        {"currency": "USD", "amount": "150.00"},
    ]
    assert funded["status"] == "SUBMITTED"

    # ADHOC sees what it funds, and nothing of the survivor: the request and the case stay
    # closed to it.
    seen = await do(hub, "adhoc", FUNDING, target, "funding")
    assert seen == funded
    for query, variables in (
        (VIEW, {"id": rid}),
        ("query($id: ID!) { case(id: $id) { id fullName } }", {"id": case_id}),
    ):
        closed = await hub.gql("adhoc", query, variables)
        assert closed.codes == ["NOT_FOUND"], closed.body

    # The parties see the funder's costs on the request, beside their own.
    await do(
        hub,
        "embassy-bangkok",
        COST,
        {"id": rid, "input": cost("ESCORT", "80", "USD")},
        "recordRepatriationCost",
    )
    shown = await do(hub, "ngo-thailand", VIEW, {"id": rid}, "repatriationRequest")
    assert [(c["item"], c["paidBy"]) for c in shown["costs"]] == [
        ("AIR_TICKET", org["adhoc"]),
        ("FOOD", org["adhoc"]),
        ("ACCOMMODATION", org["adhoc"]),
        ("LIVING_ALLOWANCE", org["adhoc"]),
        ("ESCORT", org["embassy-bangkok"]),
    ]

    # ADHOC's report for this month: its own costs only, per item and per currency.
    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    mine = await do(hub, "adhoc", REPORT, period, "costReport")
    assert mine["funderId"] == org["adhoc"]
    assert {(line["item"], line["currency"], line["amount"]) for line in mine["lines"]} == {
        ("AIR_TICKET", "THB", "4200.00"),
        ("FOOD", "THB", "350.50"),
        ("ACCOMMODATION", "THB", "1200.00"),
        ("LIVING_ALLOWANCE", "USD", "150.00"),
    }
    assert mine["totals"] == funded["totals"]
    # the coordinator sees every funder, the embassy's escort included
    everyone = await do(hub, "secretariat", REPORT, period, "costReport")
    assert everyone["funderId"] is None
    assert everyone["totals"] == [
        {"currency": "THB", "amount": "5750.50"},
        {"currency": "USD", "amount": "230.00"},
    ]
    one = await do(
        hub, "secretariat", REPORT, {**period, "funder": org["embassy-bangkok"]}, "costReport"
    )
    assert one["totals"] == [{"currency": "USD", "amount": "80.00"}]
    # an organisation does not read another's report
    other = await hub.gql("adhoc", REPORT, {**period, "funder": org["embassy-bangkok"]})
    assert other.codes == ["FORBIDDEN"]
    # a period before any cost is empty
    before = {"from": "2020-01-01", "to": "2020-12-31"}
    assert (await do(hub, "adhoc", REPORT, before, "costReport"))["lines"] == []


async def test_costs_on_a_plan_and_who_may_name_funders(hub: RunningHub) -> None:
    org = orgs(hub)
    plan = await a_plan(
        hub,
        "fund-plan-0001",
        ("FINANCIAL_LITERACY_TRAINING", "ccpcr-shelter"),
        ("SMALL_BUSINESS_GRANT", "ccpcr-shelter"),
    )
    target = {"kind": "REINTEGRATION_PLAN", "id": plan["id"]}
    # a provider is a party, not the plan's manager: it cannot name funders
    refused = await hub.gql("ccpcr-shelter", NAME_FUNDER, {**target, "funder": org["mosavy"]})
    assert refused.codes == ["FORBIDDEN"]
    await do(hub, "adhoc", NAME_FUNDER, {**target, "funder": org["mosavy"]}, "nameFunder")
    again = await do(hub, "adhoc", NAME_FUNDER, {**target, "funder": org["mosavy"]}, "nameFunder")
    assert len(again["funders"]) == 1
    grant = await do(
        hub,
        "mosavy",
        RECORD_COST,
        {**target, "input": cost("GRANT", "1600000", "KHR", idempotencyKey="grant-khr-0001")},
        "recordCost",
    )
    retried = await do(
        hub,
        "mosavy",
        RECORD_COST,
        {**target, "input": cost("GRANT", "1600000", "KHR", idempotencyKey="grant-khr-0001")},
        "recordCost",
    )
    assert retried["costs"] == grant["costs"] and len(grant["costs"]) == 1
    reused = await hub.gql(
        "mosavy",
        RECORD_COST,
        {**target, "input": cost("GRANT", "1700000", "KHR", idempotencyKey="grant-khr-0001")},
    )
    assert reused.codes == ["CONFLICT"]
    for amount, currency in [
        ("-1", "KHR"),
        ("0", "KHR"),
        ("1.001", "USD"),
        ("NaN", "USD"),
        ("12", "XYZ"),
        ("12", ""),
    ]:
        bad = await hub.gql(
            "mosavy", RECORD_COST, {**target, "input": cost("FOOD", amount, currency)}
        )
        assert bad.codes == ["BAD_USER_INPUT"], (amount, currency)
    future = await hub.gql(
        "mosavy",
        RECORD_COST,
        {**target, "input": cost("FOOD", "5", "USD", incurredOn="2099-01-01")},
    )
    assert future.codes == ["BAD_USER_INPUT"]
    assert await hub.scalar("SELECT count(*) FROM funded_costs") == 1
    # a member neither party nor funder sees nothing
    outsider = await hub.gql("ngo-malaysia", FUNDING, target)
    assert outsider.codes == ["NOT_FOUND"]
