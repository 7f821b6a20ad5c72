"""An embassy reads of a repatriation request only what the survivor consented to.

ADHOC asks the embassy in Bangkok to bring a survivor home. Her consent names the embassy
and the Ministry for REPATRIATION on IDENTITY and LOCATION, not HEALTH. The requester's
notes about her health stay with the requester; the travel plan (LOCATION) reaches the
embassy, sealed at rest; a withdrawal holds the request and withholds the plan.
"""

from __future__ import annotations

import json

from tests.api.repatriation_support import (
    PLAN,
    REQUEST,
    a_request,
    fetch,
    give_consent,
    open_case,
    orgs,
    request_input,
)
from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

# Planted: the run-wide watch also looks for it in every database file and log line.
MARK = planted("zq-repat-text-4Kd9")
HEALTH_NOTES = f"HIV+, needs antiretrovirals on the journey {MARK}-health"
ROUTE = f"Bangkok - Poipet by road, then Phnom Penh {MARK}-route"
READ = """
query($id: ID!) {
  repatriationRequest(id: $id) {
    id status heldForConsent notes travelPlan { route escort }
    withheld { field category reason }
  }
}"""
CONSENTS = "query($id: ID!) { consents(caseId: $id) { id } }"
WITHDRAW = 'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "moved on") { id } }'


async def read(hub: RunningHub, who: str, rid: str) -> GraphQLResult:
    result = await hub.gql(who, READ, {"id": rid})
    assert not result.errors, result.errors
    return result


def withheld_of(result: GraphQLResult) -> dict[str, tuple[str, str]]:
    found = result.data["repatriationRequest"]["withheld"]
    return {w["field"]: (w["category"], w["reason"]) for w in found}


async def test_an_embassy_without_health_consent_does_not_read_health_remarks(
    hub: RunningHub,
) -> None:
    # Unlabelled notes are HEALTH, the strictest; labelled ones are released as labelled.
    case_id, rid = await a_request(hub, "bkk-text-0001", notes=HEALTH_NOTES)
    labelled = await hub.gql(
        "adhoc",
        REQUEST,
        {
            "input": request_input(
                hub, case_id, "bkk-text-0002", notes=HEALTH_NOTES, notesCategory="HEALTH"
            )
        },
    )
    assert not labelled.errors, labelled.errors
    located = await hub.gql(
        "adhoc",
        REQUEST,
        {
            "input": request_input(
                hub, case_id, "bkk-text-0003", notes="at IDC Suan Phlu", notesCategory="LOCATION"
            )
        },
    )
    for request_id in (rid, labelled.data["requestRepatriation"]["id"]):
        seen = await read(hub, "embassy-bangkok", request_id)
        assert seen.data["repatriationRequest"]["notes"] is None
        assert withheld_of(seen)["notes"] == ("HEALTH", "CATEGORY_NOT_COVERED")
        assert MARK not in json.dumps(seen.body)
        # The requester owns the case and reads its own words.
        own = await read(hub, "adhoc", request_id)
        assert own.data["repatriationRequest"]["notes"] == HEALTH_NOTES
    there = await read(hub, "embassy-bangkok", located.data["requestRepatriation"]["id"])
    assert there.data["repatriationRequest"]["notes"] == "at IDC Suan Phlu"
    assert "notes" not in withheld_of(there)


async def test_the_travel_plan_is_sealed_released_as_location_and_withheld_on_withdrawal(
    hub: RunningHub,
) -> None:
    case_id, rid = await a_request(hub, "bkk-text-0004")
    planned = await hub.gql(
        "embassy-bangkok",
        PLAN,
        {"id": rid, "input": {"date": "2027-01-15", "route": ROUTE, "escort": "IOM officer"}},
    )
    assert not planned.errors, planned.errors
    assert planned.data["recordTravelPlan"]["travelPlan"]["route"] == ROUTE
    # Sealed at rest: the route is nowhere in the table.
    stored = await fetch(hub, "SELECT * FROM repatriation_requests WHERE id = :id", id=rid)
    assert stored and f"{MARK}-route" not in str(stored)
    # The Ministry (reception) is covered for LOCATION: it reads the plan.
    seen = await read(hub, "mosavy", rid)
    assert seen.data["repatriationRequest"]["travelPlan"]["route"] == ROUTE

    # When the survivor withdraws her consent
    consents = await hub.gql("adhoc", CONSENTS, {"id": case_id})
    (consent,) = consents.data["consents"]
    assert not (await hub.gql("adhoc", WITHDRAW, {"id": consent["id"]})).errors
    # the request waits for consent, and no party but the owner reads the plan
    for member in ("embassy-bangkok", "mosavy"):
        after = await read(hub, member, rid)
        request = after.data["repatriationRequest"]
        assert request["status"] == "ON_HOLD" and request["heldForConsent"] is True
        assert request["travelPlan"] is None
        assert withheld_of(after)["travelPlan"] == ("LOCATION", "WITHDRAWN")
        assert MARK not in json.dumps(after.body)
    own = await read(hub, "adhoc", rid)
    assert own.data["repatriationRequest"]["travelPlan"]["route"] == ROUTE
    # every side is told
    events = await fetch(
        hub,
        "SELECT type, audience FROM events WHERE subject_id = :id AND type = :t",
        id=rid,
        t="REPATRIATION_HELD_FOR_CONSENT",
    )
    org = orgs(hub)
    assert len(events) == 1
    audience = events[0][1] if not isinstance(events[0][1], str) else json.loads(events[0][1])
    assert sorted(audience) == sorted([org["adhoc"], org["embassy-bangkok"], org["mosavy"]])
    # and a new consent lets it go back to SUBMITTED
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    back = await read(hub, "embassy-bangkok", rid)
    assert back.data["repatriationRequest"]["status"] == "SUBMITTED"
    assert back.data["repatriationRequest"]["travelPlan"]["route"] == ROUTE


async def test_a_request_held_by_a_party_stays_held_when_consent_returns(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub)
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    sent = await hub.gql("adhoc", REQUEST, {"input": request_input(hub, case_id, "bkk-text-0005")})
    rid = sent.data["requestRepatriation"]["id"]
    held = await hub.gql(
        "embassy-bangkok",
        'mutation($id: ID!) { updateRepatriation(id: $id, status: ON_HOLD, note: "x") '
        "{ status heldFrom } }",
        {"id": rid},
    )
    assert held.data["updateRepatriation"] == {"status": "ON_HOLD", "heldFrom": "SUBMITTED"}
    consents = await hub.gql("adhoc", CONSENTS, {"id": case_id})
    (consent,) = consents.data["consents"]
    assert not (await hub.gql("adhoc", WITHDRAW, {"id": consent["id"]})).errors
    assert (await read(hub, "adhoc", rid)).data["repatriationRequest"]["heldForConsent"] is True
    # the embassy cannot resume it while consent is missing
    resume = await hub.gql(
        "embassy-bangkok",
        "mutation($id: ID!) { updateRepatriation(id: $id, status: SUBMITTED) { status } }",
        {"id": rid},
    )
    assert resume.codes == ["INVALID_TRANSITION"]
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    back = (await read(hub, "adhoc", rid)).data["repatriationRequest"]
    assert back["status"] == "ON_HOLD" and back["heldForConsent"] is False
