"""The demo network carries one survivor's journey: a newcomer sees every step, each
organisation only what consent gives it."""

from __future__ import annotations

from cases.demo_journey import FICTIONAL_NAME, seed_demo_journey
from gateway.app import data_cipher
from tests.api.custody_support import CASE, HISTORY
from tests.api.justice_support import READ as READ_LEGAL
from tests.api.reintegration_support import FUNDING, PLAN
from tests.api.repatriation_support import VIEW, do, fetch, orgs
from tests.api.test_assessment import READ, READ_FAMILY
from tests.api.test_journey_story import CONSENTS, INTERVENTION_VIEW
from tests.network import RunningHub


async def test_the_demo_carries_one_journey_each_step_by_its_organisation(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    journey = await seed_demo_journey(hub.db, data_cipher(hub.settings), hub.members)

    # Home, owned by the reception ministry that took her over at the hand-over, in follow-up.
    case = await do(hub, "mosavy", CASE, {"id": journey.case_id}, "case")
    assert case["ownerId"] == org["mosavy"] and case["status"] == "FOLLOW_UP"
    assert case["fullName"] == FICTIONAL_NAME and case["withheld"] == []
    history = await do(hub, "mosavy", HISTORY, {"id": journey.case_id}, "custodyHistory")
    assert [(h["id"], h["fromId"], h["toId"], h["origin"], h["status"]) for h in history] == [
        (journey.transfer_id, org["ngo-thailand"], org["mosavy"], "HANDOVER", "ACCEPTED")
    ]

    # Reported by her family, found and rescued by the embassy, her return requested from it.
    intervention = await do(
        hub, "embassy-bangkok", INTERVENTION_VIEW, {"id": journey.intervention_id},
        "interventionRequest",
    )  # fmt: skip
    assert (intervention["status"], intervention["outcome"]) == (
        "REPATRIATION_REQUESTED",
        "RESCUED",
    )
    assert intervention["repatriationRequestId"] == journey.repatriation_id
    consents = await do(hub, "mosavy", CONSENTS, {"id": journey.case_id}, "consents")
    family = [g for g in consents if g["grantor"] == "FAMILY"]
    assert len(family) == 1 and family[0]["withdrawal"] is not None  # superseded
    assert {g["grantor"] for g in consents if g["withdrawal"] is None} == {"GUARDIAN"}

    # The repatriation went every step, each by the organisation that does it.
    request = await do(
        hub, "embassy-bangkok", VIEW, {"id": journey.repatriation_id}, "repatriationRequest"
    )
    assert request["status"] == "HANDED_OVER"
    assert (request["requesterId"], request["embassyId"], request["receptionId"]) == (
        org["ngo-thailand"],
        org["embassy-bangkok"],
        org["mosavy"],
    )
    steps = [(h["toStatus"], h["by"]) for h in request["history"]]
    assert steps == [
        ("SUBMITTED", org["ngo-thailand"]),
        ("ACKNOWLEDGED", org["embassy-bangkok"]),
        ("VERIFYING", org["embassy-bangkok"]),
        ("DOCUMENTS_ISSUED", org["embassy-bangkok"]),
        ("TRAVEL_ARRANGED", org["embassy-bangkok"]),
        ("RETURNED", org["embassy-bangkok"]),
        ("HANDED_OVER", org["mosavy"]),
    ]
    family = await do(
        hub, "embassy-bangkok", READ_FAMILY, {"id": journey.repatriation_id}, "familyAssessment"
    )
    assert family["by"] == org["mosavy"] and family["safeToReturn"] is True

    # Assessed by the NGO that found her; the embassy is not given her health.
    assessed = await do(hub, "mosavy", READ, {"id": journey.case_id}, "caseAssessment")
    assert assessed["by"] == org["ngo-thailand"] and assessed["identification"] == "IDENTIFIED"
    assert assessed["needsNote"] is not None
    by_embassy = await do(hub, "embassy-bangkok", READ, {"id": journey.case_id}, "caseAssessment")
    assert by_embassy["needsNote"] is None
    assert "needs" in {w["field"] for w in by_embassy["withheld"]}

    # ADHOC, legal aid, followed the Ministry's complaint to compensation paid.
    legal = await do(hub, "adhoc", READ_LEGAL, {"id": journey.legal_case_id}, "legalCase")
    assert (legal["status"], legal["openedById"], legal["legalAidId"]) == (
        "COMPENSATION_PAID",
        org["mosavy"],
        org["adhoc"],
    )
    assert legal["verdict"] == "CONVICTED" and len(legal["hearings"]) == 1
    assert legal["survivors"][0]["case"]["fullName"] == FICTIONAL_NAME
    assert legal["compensationPaid"] == {"amount": "1500.00", "currency": "USD"}

    # The Ministry's plan: school with the shelter, three visits, the first escalated.
    plan = await do(hub, "ccpcr-shelter", PLAN, {"id": journey.plan_id}, "reintegrationPlan")
    assert [(s["kind"], s["status"]) for s in plan["services"]] == [
        ("SCHOOL_ENROLMENT", "COMPLETED")
    ]
    visits = sorted(plan["visits"], key=lambda v: v["dueAt"])
    assert [(v["status"], v["outcome"]) for v in visits] == [
        ("DONE", "SEEN"),
        ("DONE", "SAFE"),
        ("SCHEDULED", None),
    ]
    assert {v["visitorId"] for v in visits} == {org["ccpcr-shelter"]}
    escalated = await fetch(
        hub,
        "SELECT payload FROM events WHERE type = 'FOLLOW_UP_VISIT_ESCALATED' AND subject_id = :p",
        p=journey.plan_id,
    )
    assert len(escalated) == 1 and visits[0]["id"] in str(escalated[0][0])

    # ADHOC funded the return and the living allowance, and sees costs, never her.
    for kind, subject, totals in (
        ("REPATRIATION_REQUEST", journey.repatriation_id, [("THB", "4550.50")]),
        ("REINTEGRATION_PLAN", journey.plan_id, [("USD", "150.00")]),
    ):
        funded = await do(hub, "adhoc", FUNDING, {"kind": kind, "id": subject}, "funding")
        assert [(t["currency"], t["amount"]) for t in funded["totals"]] == totals
        assert {c["funderId"] for c in funded["costs"]} == {org["adhoc"]}

    # The former owner keeps the case but not her name; an outsider sees nothing.
    former = await do(hub, "ngo-thailand", CASE, {"id": journey.case_id}, "case")
    assert former["fullName"] is None
    for query, variables in (
        (CASE, {"id": journey.case_id}),
        (VIEW, {"id": journey.repatriation_id}),
        (READ_LEGAL, {"id": journey.legal_case_id}),
        (INTERVENTION_VIEW, {"id": journey.intervention_id}),
        (PLAN, {"id": journey.plan_id}),
    ):
        hidden = await hub.gql("ngo-malaysia", query, variables)
        assert hidden.codes == ["NOT_FOUND"], hidden.body

    # Sealed at rest like any survivor data: the fictional name is nowhere in plain.
    plain = await fetch(
        hub,
        "SELECT count(*) FROM case_fields WHERE sealed LIKE :name",
        name=f"%{FICTIONAL_NAME}%",
    )
    assert plain[0][0] == 0
