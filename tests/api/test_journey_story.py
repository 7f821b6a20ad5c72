"""Issue 14's "Done when": one survivor carried through the whole network.

Sreyneang, sixteen, is held abroad. Her aunt tells the partner NGO in Thailand, which opens
her case and, on the family's consent, asks the embassy in Bangkok to find her; the embassy
rescues her; her guardian's consent replaces the family's; the NGO assesses her and, from the
intervention, asks the embassy to bring her home, which ADHOC pays for; the Ministry of Social
Affairs (reception) assesses her family before a child may travel; the embassy brings her home;
the Ministry confirms the hand-over and takes the case over; it plans her schooling with the
shelter, which visits her three times (the first visit late, escalated by the deadline
runner); it files a complaint that ADHOC, as legal aid, follows through a hearing to
compensation paid; the plan completes and her case closes. At each step an organisation sees
only what her consent gives it, and one outside the story sees nothing at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cases.deadlines import run_deadlines
from tests.api.audit_support import cli
from tests.api.custody_support import ACCEPT, HISTORY, SET_STATUS
from tests.api.custody_support import BOX as TRANSFERS
from tests.api.custody_support import CASE as CASE_VIEW
from tests.api.justice_support import COMPENSATION, HEARING, JUDGMENT, OPEN
from tests.api.justice_support import READ as READ_LEGAL
from tests.api.justice_support import UPDATE as UPDATE_LEGAL
from tests.api.reintegration_support import (
    COMPLETE,
    CREATE_PLAN,
    FUNDING,
    NAME_FUNDER,
    PLAN,
    RECORD_COST,
    REPORT,
    SCHEDULE,
    START,
    later,
)
from tests.api.reintegration_support import RECORD as RECORD_VISIT
from tests.api.repatriation_support import (
    ACK,
    HANDOVER,
    UPDATE,
    decoded,
    do,
    fetch,
    orgs,
)
from tests.api.test_assessment import READ as READ_ASSESSMENT
from tests.api.test_assessment import READ_FAMILY, RECORD, RECORD_FAMILY
from tests.api.test_documents import code, download, upload
from tests.api.test_repatriation_flow import CONSENT, CREATE
from tests.marker_watch import planted
from tests.network import RunningHub

NAME = planted("Sreyneang Journeystory")
LOCATION = planted("karaoke bar behind Talad Thai market")
NEEDS_NOTE = planted("needs counselling, a school near home")
RISKS_NOTE = planted("the recruiter lives in her home village")
BASIS = planted("recruited with a false restaurant job offer at fifteen")
SAFETY = planted("grandmother's house in Prey Veng, recruiter moved away")
FAMILY_NOTE = planted("grandmother Kim Journeystory traced through the commune chief")
HEARING_NOTE = planted("the bar owner's lawyer asked for a delay; she testified by video")
PAPERS = b"%PDF-1.4\n% " + planted("nationality verified: Journeystory, born Prey Veng").encode()
AUNT = planted("her aunt Kanha Journeystory")
WHY_NOT_SELF = planted("held in the bar, her phone taken")
INTERVENTION = """
mutation($input: RequestInterventionInput!) {
  requestIntervention(input: $input) { id status outcome lastKnownLocation caseId }
}"""
UPDATE_INTERVENTION = """
mutation($id: ID!, $status: InterventionStatus!) {
  updateIntervention(id: $id, status: $status) { id status outcome }
}"""
INTERVENTION_VIEW = """
query($id: ID!) {
  interventionRequest(id: $id) {
    id status outcome lastKnownLocation repatriationRequestId withheld { field category reason }
  }
}"""
FROM_INTERVENTION = """
mutation($id: ID!, $input: RepatriationFromInterventionInput!) {
  requestRepatriationFromIntervention(interventionId: $id, input: $input) { id status caseId }
}"""
CONSENTS = "query($id: ID!) { consents(caseId: $id) { id grantor withdrawal { reason } } }"
HOME_NOTE = planted("lives with her grandmother, walks to school past the recruiter's house")
ERASE_REASON = planted("Sreyneang asked the Ministry to forget her, in person")
ERASE = """
mutation($input: EraseCaseDataInput!) { eraseCaseData(input: $input) { caseId kind erasedAt } }"""
REPATRIATION_CASE = "query($id: ID!) { repatriationRequest(id: $id) { id status } }"


def guardian_consent(
    hub: RunningHub, case_id: str, recipients: list[str], purposes: list[str], categories: list[str]
) -> dict[str, Any]:
    org = orgs(hub)
    return {
        "input": {
            "caseId": case_id,
            "grantor": "GUARDIAN",
            "method": "WRITTEN",
            "purposes": purposes,
            "categories": categories,
            "recipientOrganizationIds": [org[r] for r in recipients],
        }
    }


async def outsider_sees_nothing(hub: RunningHub, query: str, variables: dict[str, Any]) -> None:
    """An organisation outside the story gets NOT_FOUND, as if nothing existed."""
    hidden = await hub.gql("ngo-malaysia", query, variables)
    assert hidden.codes == ["NOT_FOUND"], hidden.body


async def test_one_survivor_from_abroad_to_home_through_every_organisation(
    hub: RunningHub, tmp_path: Path
) -> None:
    org = orgs(hub)

    # -- The NGO in Thailand opens her case: a child, held in Bangkok.
    created = await do(
        hub,
        "ngo-thailand",
        CREATE,
        {
            "input": {
                "ageBand": "AGE_9_17",
                "sex": "FEMALE",
                "nationality": "KH",
                "survivor": {"fullName": NAME, "currentLocation": LOCATION},
            }
        },
        "createCase",
    )
    case_id: str = created["id"]
    await outsider_sees_nothing(hub, CASE_VIEW, {"id": case_id})

    # -- Her aunt's report: the NGO records the family's consent, with its basis, for the
    #    embassy to look for her, and asks the embassy to find her.
    reported = await do(
        hub,
        "ngo-thailand",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "FAMILY",
                "method": "VERBAL",
                "purposes": ["REPATRIATION"],
                "categories": ["IDENTITY", "LOCATION"],
                "recipientOrganizationIds": [org["embassy-bangkok"]],
                "familyBasis": {
                    "reportedBy": AUNT,
                    "relationship": "OTHER_RELATIVE",
                    "whyNotSelf": WHY_NOT_SELF,
                },
            }
        },
        "recordConsent",
    )
    family_grant: str = reported["id"]
    asked = await do(
        hub,
        "ngo-thailand",
        INTERVENTION,
        {
            "input": {
                "caseId": case_id,
                "embassyId": org["embassy-bangkok"],
                "currentCountry": "TH",
                "reportedBy": "FAMILY",
                "urgency": "URGENT",
                "idempotencyKey": "journey-int-1",
                "lastKnownLocation": LOCATION,
            }
        },
        "requestIntervention",
    )
    iid: str = asked["id"]
    assert asked["status"] == "SUBMITTED"
    await outsider_sees_nothing(hub, INTERVENTION_VIEW, {"id": iid})
    # The embassy reads where she was last seen, on her family's consent; the Ministry is no
    # party yet.
    searching = await do(
        hub, "embassy-bangkok", INTERVENTION_VIEW, {"id": iid}, "interventionRequest"
    )
    assert searching["lastKnownLocation"] == LOCATION
    hidden = await hub.gql("mosavy", INTERVENTION_VIEW, {"id": iid})
    assert hidden.codes == ["NOT_FOUND"], hidden.body

    # -- The embassy acknowledges, locates and rescues her.
    for status in ("ACKNOWLEDGED", "LOCATED", "RESCUED"):
        rescue = await do(
            hub, "embassy-bangkok", UPDATE_INTERVENTION, {"id": iid, "status": status},
            "updateIntervention",
        )  # fmt: skip
    assert (rescue["status"], rescue["outcome"]) == ("RESCUED", "RESCUED")

    # -- Reached, her own consent replaces her family's (a child's is her guardian's): the
    #    embassy and the Ministry may know who and where she is for her return; the Ministry
    #    may also know her health for her care at home.
    await do(
        hub,
        "ngo-thailand",
        CONSENT,
        guardian_consent(
            hub, case_id, ["embassy-bangkok", "mosavy"], ["REPATRIATION"], ["IDENTITY", "LOCATION"]
        ),
        "recordConsent",
    )
    await do(
        hub,
        "ngo-thailand",
        CONSENT,
        guardian_consent(
            hub,
            case_id,
            ["mosavy"],
            ["REPATRIATION", "SERVICE_REFERRAL"],
            ["IDENTITY", "LOCATION", "HEALTH"],
        ),
        "recordConsent",
    )

    grants = await do(hub, "ngo-thailand", CONSENTS, {"id": case_id}, "consents")
    by_id = {g["id"]: g for g in grants}
    assert by_id[family_grant]["withdrawal"]["reason"] == "superseded by the person's own consent"
    assert sorted(g["grantor"] for g in grants if g["withdrawal"] is None) == [
        "GUARDIAN",
        "GUARDIAN",
    ]
    late_family = await hub.gql(
        "ngo-thailand",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "FAMILY",
                "method": "VERBAL",
                "purposes": ["REPATRIATION"],
                "categories": ["LOCATION"],
                "recipientOrganizationIds": [org["embassy-bangkok"]],
                "familyBasis": {
                    "reportedBy": AUNT,
                    "relationship": "OTHER_RELATIVE",
                    "whyNotSelf": WHY_NOT_SELF,
                },
            }
        },
    )
    assert late_family.codes == ["BAD_USER_INPUT"], late_family.body

    # -- Initial assessment by the NGO that found her.
    assessed = await do(
        hub,
        "ngo-thailand",
        RECORD,
        {
            "input": {
                "caseId": case_id,
                "needs": ["PSYCHOSOCIAL", "EDUCATION"],
                "needsNote": NEEDS_NOTE,
                "risks": ["RE_TRAFFICKING"],
                "risksNote": RISKS_NOTE,
                "identification": "IDENTIFIED",
                "identificationNote": BASIS,
                "assessorRole": "SOCIAL_WORKER",
            }
        },
        "recordAssessment",
    )
    assert assessed["by"] == org["ngo-thailand"] and assessed["identification"] == "IDENTIFIED"
    assert assessed["needsNote"] == NEEDS_NOTE and assessed["withheld"] == []

    # -- From the rescue, the NGO asks the embassy to bring her home to the Ministry.
    sent = await do(
        hub,
        "ngo-thailand",
        FROM_INTERVENTION,
        {
            "id": iid,
            "input": {
                "receivingOrganizationId": org["mosavy"],
                "situation": "SHELTER",
                "documentsHeld": ["NONE"],
                "assistanceNeeded": ["NATIONALITY_VERIFICATION", "TRAVEL_DOCUMENT", "ESCORT"],
                "urgency": "URGENT",
                "idempotencyKey": "journey-rep-1",
            },
        },
        "requestRepatriationFromIntervention",
    )
    rid: str = sent["id"]
    assert (sent["status"], sent["caseId"]) == ("SUBMITTED", case_id)
    handed_on = await do(hub, "ngo-thailand", INTERVENTION_VIEW, {"id": iid}, "interventionRequest")
    assert (handed_on["status"], handed_on["outcome"], handed_on["repatriationRequestId"]) == (
        "REPATRIATION_REQUESTED",
        "RESCUED",
        rid,
    )
    await outsider_sees_nothing(hub, REPATRIATION_CASE, {"id": rid})
    # The embassy is a party now, but her health and what happened to her are not its to see.
    by_embassy = await do(
        hub, "embassy-bangkok", READ_ASSESSMENT, {"id": case_id}, "caseAssessment"
    )
    assert by_embassy["needsNote"] is None and by_embassy["identificationNote"] is None
    assert {w["field"] for w in by_embassy["withheld"]} >= {"needs", "risks", "identification"}
    # The Ministry, consented for her health, sees her needs but not the trafficking story.
    by_ministry = await do(hub, "mosavy", READ_ASSESSMENT, {"id": case_id}, "caseAssessment")
    assert by_ministry["needsNote"] == NEEDS_NOTE
    assert by_ministry["risksNote"] is None and by_ministry["identificationNote"] is None

    await do(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation")
    for status in ("VERIFYING", "DOCUMENTS_ISSUED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )

    # -- The embassy attaches her nationality verification; the Ministry downloads it under
    #    her guardian's consent (IDENTITY, for her return), a disclosure; an outsider cannot.
    uploaded = await upload(
        hub,
        "embassy-bangkok",
        PAPERS,
        "journey-doc-1",
        subjectType="REPATRIATION_REQUEST",
        subjectId=rid,
        category="NATIONALITY_VERIFICATION",
    )
    assert uploaded.status_code == 201, uploaded.text
    document_id = uploaded.json()["id"]
    fetched = await download(hub, "mosavy", document_id)
    assert fetched.status_code == 200 and fetched.content == PAPERS
    downloads = await fetch(
        hub,
        "SELECT organization_id FROM disclosures WHERE case_id = :c AND channel = 'DOWNLOAD'",
        c=case_id,
    )
    assert [d[0] for d in downloads] == [org["mosavy"]]
    refused = await download(hub, "ngo-malaysia", document_id)
    assert (refused.status_code, code(refused)) == (404, "NOT_FOUND")

    # -- ADHOC pays for her return: named funder by the NGO that asked for it, it records its
    #    costs and reads the request's organisations and costs, never her.
    target = {"kind": "REPATRIATION_REQUEST", "id": rid}
    unnamed = await hub.gql(
        "adhoc",
        RECORD_COST,
        {**target, "input": {"item": "FOOD", "amount": "1", "currency": "THB"}},
    )
    assert unnamed.codes == ["NOT_FOUND"], unnamed.body
    await do(hub, "ngo-thailand", NAME_FUNDER, {**target, "funder": org["adhoc"]}, "nameFunder")
    for item, amount, currency in (
        ("AIR_TICKET", "4200", "THB"),
        ("FOOD", "350.50", "THB"),
        ("ESCORT", "80", "USD"),
    ):
        funded = await do(
            hub,
            "adhoc",
            RECORD_COST,
            {**target, "input": {"item": item, "amount": amount, "currency": currency}},
            "recordCost",
        )
    assert sorted((t["currency"], t["amount"]) for t in funded["totals"]) == [
        ("THB", "4550.50"),
        ("USD", "80.00"),
    ]
    not_hers = await hub.gql("adhoc", CASE_VIEW, {"id": case_id})
    assert not_hers.codes == ["NOT_FOUND"], not_hers.body  # a funder is no party to her case

    # -- She is a child: no travel until the Ministry has assessed her family.
    arrange = {"id": rid, "status": "TRAVEL_ARRANGED"}
    gated = await hub.gql("embassy-bangkok", UPDATE, arrange)
    assert gated.codes == ["INVALID_TRANSITION"], gated.body
    assert gated.errors[0]["extensions"]["reason"] == "FAMILY_ASSESSMENT_REQUIRED"
    outsider = await hub.gql(
        "ngo-malaysia",
        RECORD_FAMILY,
        {"id": rid, "input": {"familyTraced": True, "safeToReturn": True, "safetyReasons": "x"}},
    )
    assert outsider.codes == ["NOT_FOUND"], outsider.body
    family = await do(
        hub,
        "mosavy",
        RECORD_FAMILY,
        {
            "id": rid,
            "input": {
                "familyTraced": True,
                "familyNote": FAMILY_NOTE,
                "safeToReturn": True,
                "safetyReasons": SAFETY,
            },
        },
        "recordFamilyAssessment",
    )
    assert family["by"] == org["mosavy"] and family["safeToReturn"] is True
    seen_family = await do(hub, "embassy-bangkok", READ_FAMILY, {"id": rid}, "familyAssessment")
    assert seen_family["safetyReasons"] == SAFETY  # LOCATION: consented to the embassy
    await outsider_sees_nothing(hub, READ_FAMILY, {"id": rid})

    # -- The embassy brings her home; the Ministry confirms the hand-over at the border.
    for status in ("TRAVEL_ARRANGED", "RETURNED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    handed = await do(hub, "mosavy", HANDOVER, {"id": rid}, "confirmHandover")
    assert handed["status"] == "HANDED_OVER"

    # -- Custody: the hand-over offered her case to the Ministry, which takes it over.
    inbox = await do(
        hub, "mosavy", TRANSFERS, {"box": "INBOX", "status": "OFFERED"}, "caseTransfers"
    )
    (offer,) = [e["node"] for e in inbox["edges"]]
    assert (offer["caseId"], offer["origin"], offer["repatriationId"]) == (case_id, "HANDOVER", rid)
    accepted = await do(hub, "mosavy", ACCEPT, {"id": offer["id"]}, "acceptCaseTransfer")
    assert accepted["status"] == "ACCEPTED"
    owned = await do(
        hub, "mosavy", SET_STATUS, {"id": case_id, "status": "REINTEGRATING"}, "updateCaseStatus"
    )
    assert owned == {"id": case_id, "status": "REINTEGRATING", "ownerId": org["mosavy"]}
    mine = await do(hub, "mosavy", CASE_VIEW, {"id": case_id}, "case")
    assert mine["fullName"] == NAME and mine["withheld"] == []
    # The NGO keeps its view of the case, but her consent does not name it: no name.
    former = await do(hub, "ngo-thailand", CASE_VIEW, {"id": case_id}, "case")
    assert former["ownerId"] == org["mosavy"] and former["fullName"] is None
    assert {"field": "fullName", "reason": "RECIPIENT_NOT_COVERED"} in former["withheld"]
    late = await hub.gql("ngo-thailand", SET_STATUS, {"id": case_id, "status": "CLOSED"})
    assert late.codes == ["FORBIDDEN"], late.body
    history = await do(hub, "ngo-thailand", HISTORY, {"id": case_id}, "custodyHistory")
    assert [(h["fromId"], h["toId"], h["status"]) for h in history] == [
        (org["ngo-thailand"], org["mosavy"], "ACCEPTED")
    ]
    await outsider_sees_nothing(hub, HISTORY, {"id": case_id})

    # -- Reintegration: her guardian lets the shelter follow her (who and where she is, not
    #    her health); the Ministry plans her school with the shelter, which visits her.
    await do(
        hub,
        "mosavy",
        CONSENT,
        guardian_consent(hub, case_id, ["ccpcr-shelter"], ["FOLLOW_UP"], ["IDENTITY", "LOCATION"]),
        "recordConsent",
    )
    plan = await do(
        hub,
        "mosavy",
        CREATE_PLAN,
        {
            "input": {
                "caseId": case_id,
                "services": [
                    {"kind": "SCHOOL_ENROLMENT", "providerOrganizationId": org["ccpcr-shelter"]}
                ],
                "idempotencyKey": "journey-plan-1",
            }
        },
        "createReintegrationPlan",
    )
    pid: str = plan["id"]
    (school,) = plan["services"]
    await do(hub, "ccpcr-shelter", START, {"id": school["id"]}, "startReintegrationService")
    await do(hub, "ccpcr-shelter", COMPLETE, {"id": school["id"]}, "completeReintegrationService")
    scheduled = await do(
        hub,
        "mosavy",
        SCHEDULE,
        {"id": pid, "due": later(days=14), "visitor": org["ccpcr-shelter"]},
        "scheduleFollowUpVisit",
    )
    (first,) = scheduled["visits"]
    # The first visit slips past its date: the deadline runner reminds the visitor and the
    # owner, then escalates to them and the coordinators.
    due = datetime.fromisoformat(first["dueAt"])
    cipher = hub.app.state.hub.cipher
    assert (await run_deadlines(hub.db, cipher, due - timedelta(hours=20))).reminded >= 1
    assert (await run_deadlines(hub.db, cipher, due + timedelta(minutes=1))).escalated >= 1
    escalations = await fetch(
        hub,
        "SELECT audience, payload FROM events WHERE subject_id = :p "
        "AND type = 'FOLLOW_UP_VISIT_ESCALATED'",
        p=pid,
    )
    ((audience, payload),) = escalations
    assert set(decoded(audience)) == {org["mosavy"], org["ccpcr-shelter"], org["secretariat"]}
    assert decoded(payload)["visitId"] == first["id"]
    overdue = await do(hub, "mosavy", PLAN, {"id": pid}, "reintegrationPlan")
    assert overdue["visits"][0]["overdue"] is True
    # Visited late, then again on time: each visit schedules the next.
    visit_id = first["id"]
    for outcome, note in (("SEEN", None), ("SAFE", HOME_NOTE)):
        recorded = await do(
            hub,
            "ccpcr-shelter",
            RECORD_VISIT,
            {
                "id": visit_id,
                "input": {
                    "outcome": outcome,
                    "note": note,
                    "noteCategory": "LOCATION",
                    "nextDueAt": later(days=60),
                },
            },
            "recordFollowUpVisit",
        )
        (done,) = [v for v in recorded["visits"] if v["id"] == visit_id]
        assert done["status"] == "DONE" and done["outcome"] == outcome
        visit_id = done["nextVisitId"]
    assert recorded["status"] == "ACTIVE"
    # The shelter reads her name and where she lives, not her health or her story.
    shelter_sees = await do(
        hub, "ccpcr-shelter", READ_ASSESSMENT, {"id": case_id}, "caseAssessment"
    )
    assert shelter_sees["needsNote"] is None and shelter_sees["risksNote"] is None
    shelter_case = await do(hub, "ccpcr-shelter", CASE_VIEW, {"id": case_id}, "case")
    assert shelter_case["fullName"] == NAME

    # -- ADHOC also pays her living allowance, named funder of the plan by the Ministry.
    plan_target = {"kind": "REINTEGRATION_PLAN", "id": pid}
    await do(hub, "mosavy", NAME_FUNDER, {**plan_target, "funder": org["adhoc"]}, "nameFunder")
    await do(
        hub,
        "adhoc",
        RECORD_COST,
        {**plan_target, "input": {"item": "LIVING_ALLOWANCE", "amount": "150", "currency": "USD"}},
        "recordCost",
    )
    funding = await do(hub, "adhoc", FUNDING, plan_target, "funding")
    assert [(c["item"], c["amount"], c["funderId"]) for c in funding["costs"]] == [
        ("LIVING_ALLOWANCE", "150.00", org["adhoc"])
    ]
    today = datetime.now(UTC).date()
    report = await do(
        hub,
        "adhoc",
        REPORT,
        {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
        "costReport",
    )
    assert sorted((t["currency"], t["amount"]) for t in report["totals"]) == [
        ("THB", "4550.50"),
        ("USD", "230.00"),
    ]

    # -- Justice: her guardian lets ADHOC, as legal aid, know who she is and the legal side;
    #    the Ministry files the complaint; ADHOC follows it to compensation.
    await do(
        hub,
        "mosavy",
        CONSENT,
        guardian_consent(hub, case_id, ["adhoc"], ["LEGAL_AID"], ["IDENTITY", "LEGAL"]),
        "recordConsent",
    )
    legal = await do(
        hub,
        "mosavy",
        OPEN,
        {
            "input": {
                "caseIds": [case_id],
                "legalAidOrganizationId": org["adhoc"],
                "court": "Phnom Penh Municipal Court",
                "complaintFiledOn": "2026-11-02",
                "idempotencyKey": "journey-legal-1",
            }
        },
        "openLegalCase",
    )
    lid: str = legal["id"]
    assert (legal["status"], legal["openedById"], legal["legalAidId"]) == (
        "COMPLAINT_FILED",
        org["mosavy"],
        org["adhoc"],
    )
    for status in ("INVESTIGATION", "COURT"):
        moved = await do(
            hub, "adhoc", UPDATE_LEGAL, {"id": lid, "status": status}, "updateLegalCase"
        )
        assert moved["status"] == status
    heard = await do(
        hub,
        "adhoc",
        HEARING,
        {
            "id": lid,
            "input": {
                "date": "2026-11-16T09:00:00+07:00",
                "court": "Phnom Penh Municipal Court",
                "transportProvided": True,
                "accommodationProvided": True,
                "outcomeNote": HEARING_NOTE,
                "idempotencyKey": "journey-hearing-1",
            },
        },
        "recordHearing",
    )
    (hearing,) = heard["hearings"]
    assert hearing["transportProvided"] is True and hearing["accommodationProvided"] is True
    # ADHOC pays her bus and her night in town for the hearing, and records it there.
    hearing_target = {"kind": "HEARING", "id": hearing["id"]}
    for item, amount in (("LAND_TICKET", "12.50"), ("ACCOMMODATION", "30")):
        hearing_costs = await do(
            hub,
            "adhoc",
            RECORD_COST,
            {**hearing_target, "input": {"item": item, "amount": amount, "currency": "USD"}},
            "recordCost",
        )
    assert hearing_costs["totals"] == [{"currency": "USD", "amount": "42.50"}]
    await outsider_sees_nothing(hub, FUNDING, hearing_target)
    await do(
        hub,
        "adhoc",
        JUDGMENT,
        {"id": lid, "input": {"verdict": "CONVICTED", "date": "2026-11-25"}},
        "recordJudgment",
    )
    for stage, status in (("AWARDED", "COMPENSATION_AWARDED"), ("PAID", "COMPENSATION_PAID")):
        compensated = await do(
            hub,
            "adhoc",
            COMPENSATION,
            {"id": lid, "input": {"stage": stage, "amount": "1500", "currency": "USD"}},
            "recordCompensation",
        )
        assert compensated["status"] == status
    assert compensated["compensationPaid"] == {"amount": "1500.00", "currency": "USD"}
    # ADHOC knows who she is and reads the hearing; of her assessment, nothing but what
    # LEGAL covers (none of it: needs are HEALTH, the story TRAFFICKING_EXPERIENCE).
    by_legal_aid = await do(hub, "adhoc", READ_LEGAL, {"id": lid}, "legalCase")
    assert by_legal_aid["survivors"][0]["case"]["fullName"] == NAME
    assert by_legal_aid["hearings"][0]["outcomeNote"] == HEARING_NOTE
    adhoc_assessment = await do(hub, "adhoc", READ_ASSESSMENT, {"id": case_id}, "caseAssessment")
    assert adhoc_assessment["needsNote"] is None and adhoc_assessment["risksNote"] is None
    # The Ministry, owner of her case, reads it all; the NGO that found her, the embassy and
    # an outsider do not know the legal case exists.
    by_owner = await do(hub, "mosavy", READ_LEGAL, {"id": lid}, "legalCase")
    assert by_owner["hearings"][0]["outcomeNote"] == HEARING_NOTE
    for member in ("ngo-thailand", "embassy-bangkok", "ngo-malaysia"):
        hidden = await hub.gql(member, READ_LEGAL, {"id": lid})
        assert hidden.codes == ["NOT_FOUND"], (member, hidden.body)

    # -- The third visit finds her needs met: the plan completes and her case closes.
    last = await do(
        hub,
        "ccpcr-shelter",
        RECORD_VISIT,
        {"id": visit_id, "input": {"outcome": "NEEDS_MET"}},
        "recordFollowUpVisit",
    )
    assert last["status"] == "COMPLETED" and len(last["visits"]) == 3
    assert [v["outcome"] for v in sorted(last["visits"], key=lambda v: v["dueAt"])] == [
        "SEEN",
        "SAFE",
        "NEEDS_MET",
    ]
    closed = await do(hub, "mosavy", CASE_VIEW, {"id": case_id}, "case")
    assert closed["status"] == "CLOSED"

    # Every disclosure to another organisation is in the log; none went to an outsider.
    disclosed = await fetch(
        hub,
        "SELECT DISTINCT organization_id FROM disclosures WHERE case_id = :c",
        c=case_id,
    )
    assert {d[0] for d in disclosed} <= {
        org["embassy-bangkok"],
        org["mosavy"],
        org["adhoc"],
        org["ccpcr-shelter"],
    }
    assert {org["embassy-bangkok"], org["adhoc"]} <= {d[0] for d in disclosed}

    # -- Closure: she asks the Ministry to erase her data. Her name and everything written
    #    about her are gone for every reader; ids, statuses and the chains stay and verify.
    erased = await do(
        hub,
        "mosavy",
        ERASE,
        {
            "input": {
                "caseId": case_id,
                "reason": ERASE_REASON,
                "idempotencyKey": "journey-erase-1",
            }
        },
        "eraseCaseData",
    )
    assert (erased["caseId"], erased["kind"]) == (case_id, "REQUEST")
    after = await do(hub, "mosavy", CASE_VIEW, {"id": case_id}, "case")
    assert after["status"] == "CLOSED" and after["fullName"] is None
    assert {"field": "fullName", "reason": "ERASED"} in after["withheld"]
    legal_after = await do(hub, "adhoc", READ_LEGAL, {"id": lid}, "legalCase")
    assert legal_after["status"] == "COMPENSATION_PAID"
    assert legal_after["survivors"][0]["case"]["fullName"] is None
    assessment_after = await do(hub, "mosavy", READ_ASSESSMENT, {"id": case_id}, "caseAssessment")
    # Her assessment reads back empty, not as an error (it was sealed as empty text).
    assert assessment_after["needsNote"] is None and assessment_after["identificationNote"] is None
    verified = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert verified.code == 0, verified.err
