"""A hearing is a funded subject like a return or a plan: the legal aid organisation names
another member as funder of the survivor's transport and accommodation to court, and that
funder records its costs there without becoming a party to the legal case."""

from __future__ import annotations

from tests.api.justice_support import HEARING, LEGAL_AID, UPDATE, opened, step, survivor_case
from tests.api.reintegration_support import FUNDING, NAME_FUNDER, RECORD_COST
from tests.api.repatriation_support import orgs
from tests.marker_watch import planted
from tests.network import RunningHub


async def a_hearing(hub: RunningHub) -> str:
    case_id = await survivor_case(hub, "ccpcr-koh-kong", planted("Sok Dara"))
    legal = await opened(hub, "ccpcr-koh-kong", [case_id], "hearing-fund-0001")
    for status in ("INVESTIGATION", "COURT"):
        await step(hub, LEGAL_AID, UPDATE, {"id": legal["id"], "status": status}, "updateLegalCase")
    hearing_input = {
        "date": "2026-11-20T09:00:00+07:00",
        "court": "Koh Kong Provincial Court",
        "transportProvided": True,
        "accommodationProvided": True,
        "idempotencyKey": "hearing-fund-h001",
    }
    heard = await step(
        hub, LEGAL_AID, HEARING, {"id": legal["id"], "input": hearing_input}, "recordHearing"
    )
    hearing_id: str = heard["hearings"][0]["id"]
    return hearing_id


async def test_a_named_funder_records_the_costs_of_a_hearing(hub: RunningHub) -> None:
    org = orgs(hub)
    target = {"kind": "HEARING", "id": await a_hearing(hub)}
    # not yet named: the shelter is no party to the legal case
    assert (await hub.gql("ccpcr-shelter", FUNDING, target)).codes == ["NOT_FOUND"]
    refused = await hub.gql(
        "ccpcr-shelter",
        RECORD_COST,
        {**target, "input": {"item": "LAND_TICKET", "amount": "12.50", "currency": "USD"}},
    )
    assert refused.codes == ["NOT_FOUND"]
    named = await step(
        hub, LEGAL_AID, NAME_FUNDER, {**target, "funder": org["ccpcr-shelter"]}, "nameFunder"
    )
    assert [f["organizationId"] for f in named["funders"]] == [org["ccpcr-shelter"]]
    for item, amount in (("LAND_TICKET", "12.50"), ("ACCOMMODATION", "30.00")):
        await step(
            hub,
            "ccpcr-shelter",
            RECORD_COST,
            {**target, "input": {"item": item, "amount": amount, "currency": "USD"}},
            "recordCost",
        )
    seen = await step(hub, "ccpcr-shelter", FUNDING, target, "funding")
    assert seen["totals"] == [{"currency": "USD", "amount": "42.50"}]
    assert seen["status"] == "COURT"
    # the funder sees the hearing's funding, never the legal case or the survivor
    legal = await hub.gql(
        "ccpcr-shelter", "query { legalCases(first: 5) { edges { node { id } } } }"
    )
    assert not legal.errors and legal.data["legalCases"]["edges"] == []
    # the case owner (a party of the legal case) sees the costs; an outsider does not
    assert (await step(hub, "ccpcr-koh-kong", FUNDING, target, "funding"))["totals"]
    assert (await hub.gql("ngo-malaysia", FUNDING, target)).codes == ["NOT_FOUND"]
