"""Assessments: the owner's initial assessment, and the family assessment a child's return
waits for."""

from __future__ import annotations

from typing import Any

from tests.api.custody_support import consent_to
from tests.api.repatriation_support import (
    ACK,
    REQUEST,
    UPDATE,
    decoded,
    do,
    fetch,
    open_case,
    orgs,
    request_input,
)
from tests.api.test_repatriation_flow import CONSENT, CREATE
from tests.marker_watch import MARKER, planted
from tests.network import RunningHub

ASSESSMENT_FIELDS = (
    "id caseId by assessorRole version needs needsNote risks risksNote identification "
    "identificationNote withheld { field category reason }"
)
RECORD = f"""
mutation($input: AssessmentInput!, $v: Int) {{
  recordAssessment(input: $input, expectedVersion: $v) {{ {ASSESSMENT_FIELDS} }}
}}"""
READ = f"query($id: ID!) {{ caseAssessment(caseId: $id) {{ {ASSESSMENT_FIELDS} }} }}"
FAMILY_FIELDS = (
    "id repatriationId caseId by version familyTraced familyNote safeToReturn safetyReasons "
    "withheld { field category reason }"
)
RECORD_FAMILY = f"""
mutation($id: ID!, $input: FamilyAssessmentInput!, $v: Int) {{
  recordFamilyAssessment(repatriationId: $id, input: $input, expectedVersion: $v) {{
    {FAMILY_FIELDS}
  }}
}}"""
READ_FAMILY = f"query($id: ID!) {{ familyAssessment(repatriationId: $id) {{ {FAMILY_FIELDS} }} }}"

NEEDS_NOTE = planted("untreated tuberculosis, needs a clinic near her village")
RISKS_NOTE = planted("the broker is her uncle and lives next door")
BASIS = planted("recruited by deception, passport held, unpaid for eight months")


def assessment(case_id: str, **more: Any) -> dict[str, Any]:
    return {
        "input": {
            "caseId": case_id,
            "needs": ["MEDICAL", "PSYCHOSOCIAL"],
            "needsNote": NEEDS_NOTE,
            "risks": ["RE_TRAFFICKING", "FAMILY_INVOLVED_IN_TRAFFICKING"],
            "risksNote": RISKS_NOTE,
            "identification": "IDENTIFIED",
            "identificationNote": BASIS,
            "assessorRole": "SOCIAL_WORKER",
            **more,
        }
    }


async def test_the_owner_assesses_and_a_party_sees_what_consent_gives(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id = await open_case(hub)
    # The survivor lets the shelter know her health, nothing of what happened to her.
    await consent_to(hub, case_id, "adhoc", ["ccpcr-shelter"], ["SERVICE_REFERRAL"], ["HEALTH"])
    assert await do(hub, "adhoc", READ, {"id": case_id}, "caseAssessment") is None
    recorded = await do(hub, "adhoc", RECORD, assessment(case_id), "recordAssessment")
    assert recorded["version"] == 1 and recorded["by"] == org["adhoc"]
    assert recorded["assessorRole"] == "SOCIAL_WORKER"
    assert recorded["needs"] == ["MEDICAL", "PSYCHOSOCIAL"] and recorded["needsNote"] == NEEDS_NOTE
    assert recorded["risks"] == ["FAMILY_INVOLVED_IN_TRAFFICKING", "RE_TRAFFICKING"]
    assert recorded["identification"] == "IDENTIFIED"
    assert recorded["identificationNote"] == BASIS and recorded["withheld"] == []

    seen = await do(hub, "ccpcr-shelter", READ, {"id": case_id}, "caseAssessment")
    assert seen["needs"] == ["MEDICAL", "PSYCHOSOCIAL"] and seen["needsNote"] == NEEDS_NOTE
    assert seen["risks"] is None and seen["risksNote"] is None
    assert seen["identification"] is None and seen["identificationNote"] is None
    assert sorted((w["field"], w["category"], w["reason"]) for w in seen["withheld"]) == [
        ("identification", "TRAFFICKING_EXPERIENCE", "CATEGORY_NOT_COVERED"),
        ("risks", "TRAFFICKING_EXPERIENCE", "CATEGORY_NOT_COVERED"),
    ]
    disclosed = await fetch(
        hub,
        "SELECT categories FROM disclosures WHERE case_id = :c AND organization_id = :o",
        c=case_id,
        o=org["ccpcr-shelter"],
    )
    assert [decoded(d[0]) for d in disclosed] == [["HEALTH"]]
    # Not a party: as if the case did not exist. A party that does not own it: FORBIDDEN.
    hidden = await hub.gql("ngo-malaysia", READ, {"id": case_id})
    assert hidden.codes == ["NOT_FOUND"], hidden.body
    refused = await hub.gql("ccpcr-shelter", RECORD, assessment(case_id))
    assert refused.codes == ["FORBIDDEN"], refused.body

    # Revised: a stale version is a conflict and changes nothing; the right one moves on.
    stale = await hub.gql(
        "adhoc", RECORD, {**assessment(case_id, identification="PENDING"), "v": 3}
    )
    assert stale.codes == ["CONFLICT"], stale.body
    assert (await do(hub, "adhoc", READ, {"id": case_id}, "caseAssessment"))["version"] == 1
    revised = await do(
        hub,
        "adhoc",
        RECORD,
        {
            **assessment(case_id, identification="NOT_IDENTIFIED", assessorRole="POLICE_OFFICER"),
            "v": 1,
        },
        "recordAssessment",
    )
    assert revised["version"] == 2 and revised["identification"] == "NOT_IDENTIFIED"
    assert revised["assessorRole"] == "POLICE_OFFICER"
    events = await fetch(
        hub,
        "SELECT payload, audience FROM events WHERE type = 'CASE_ASSESSED' AND subject_id = :c "
        "ORDER BY id",
        c=case_id,
    )
    assert [decoded(e[0])["version"] for e in events] == [1, 2]
    assert all(set(decoded(e[0])) == {"caseId", "assessmentId", "version"} for e in events)
    assert org["ccpcr-shelter"] in decoded(events[0][1])


async def _child_request(hub: RunningHub, key: str, survivor: dict[str, Any], band: str) -> str:
    """ADHOC's case of a survivor of ``band``; a request brought to DOCUMENTS_ISSUED."""
    created = await do(
        hub,
        "adhoc",
        CREATE,
        {"input": {"ageBand": band, "sex": "FEMALE", "nationality": "KH", "survivor": survivor}},
        "createCase",
    )
    case_id = created["id"]
    org = orgs(hub)
    await do(
        hub,
        "adhoc",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "GUARDIAN" if band in ("AGE_0_8", "AGE_9_17") else "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["REPATRIATION"],
                "categories": ["IDENTITY", "LOCATION"],
                "recipientOrganizationIds": [org[m] for m in ("embassy-bangkok", "mosavy")],
            }
        },
        "recordConsent",
    )
    sent = await do(
        hub, "adhoc", REQUEST, {"input": request_input(hub, case_id, key)}, "requestRepatriation"
    )
    rid: str = sent["id"]
    await do(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation")
    for status in ("VERIFYING", "DOCUMENTS_ISSUED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    return rid


def family(traced: bool, safe: bool) -> dict[str, Any]:
    return {
        "familyTraced": traced,
        "safeToReturn": safe,
        "safetyReasons": planted("stepfather was the recruiter; grandmother in Prey Veng"),
        "familyNote": planted("grandmother Yin Sokha found through the commune chief"),
    }


async def test_a_child_travels_home_only_after_a_positive_family_assessment(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    rid = await _child_request(
        hub, "assess-child-1", {"fullName": planted("Srey Leak")}, "AGE_9_17"
    )
    arrange = {"id": rid, "status": "TRAVEL_ARRANGED"}
    refused = await hub.gql("embassy-bangkok", UPDATE, arrange)
    assert refused.codes == ["INVALID_TRANSITION"], refused.body
    assert refused.errors[0]["extensions"]["reason"] == "FAMILY_ASSESSMENT_REQUIRED"
    assert "family assessment" in refused.errors[0]["message"]

    # Only the reception organisation assesses the family.
    for member, code in (("embassy-bangkok", "FORBIDDEN"), ("ngo-malaysia", "NOT_FOUND")):
        wrong = await hub.gql(member, RECORD_FAMILY, {"id": rid, "input": family(True, True)})
        assert wrong.codes == [code], wrong.body
    blank = {**family(True, True), "safetyReasons": " "}
    missing = await hub.gql("mosavy", RECORD_FAMILY, {"id": rid, "input": blank})
    assert missing.codes == ["BAD_USER_INPUT"], missing.body
    assert await hub.scalar("SELECT count(*) FROM family_assessments") == 0

    # Family found, but home not safe: still no travel.
    unsafe = await do(
        hub, "mosavy", RECORD_FAMILY, {"id": rid, "input": family(True, False)},
        "recordFamilyAssessment",
    )  # fmt: skip
    assert unsafe["familyTraced"] is True and unsafe["safeToReturn"] is False
    assert unsafe["by"] == org["mosavy"] and unsafe["version"] == 1
    again = await hub.gql("embassy-bangkok", UPDATE, arrange)
    assert again.codes == ["INVALID_TRANSITION"], again.body

    # Safe with her grandmother: the embassy arranges travel.
    safe = await do(
        hub, "mosavy", RECORD_FAMILY, {"id": rid, "input": family(True, True), "v": 1},
        "recordFamilyAssessment",
    )  # fmt: skip
    assert safe["version"] == 2
    moved = await do(hub, "embassy-bangkok", UPDATE, arrange, "updateRepatriation")
    assert moved["status"] == "TRAVEL_ARRANGED"
    # The embassy reads the assessment as consent allows (IDENTITY and LOCATION, to it).
    seen = await do(hub, "embassy-bangkok", READ_FAMILY, {"id": rid}, "familyAssessment")
    assert seen["familyTraced"] is True and seen["safeToReturn"] is True
    assert seen["safetyReasons"] == family(True, True)["safetyReasons"]
    events = await fetch(
        hub,
        "SELECT payload FROM events WHERE type = 'REPATRIATION_FAMILY_ASSESSED' "
        "AND subject_id = :r",
        r=rid,
    )
    assert len(events) == 2
    assert "safe" not in str(events) and "traced" not in str(events)


async def test_a_date_of_birth_under_eighteen_makes_the_survivor_a_child(hub: RunningHub) -> None:
    """The age band says adult, her (sealed) date of birth says 16: a child's rule applies."""
    rid = await _child_request(
        hub,
        "assess-child-2",
        {"fullName": planted("Sophal"), "dateOfBirth": "2010-05-01"},
        "AGE_18_20",
    )
    refused = await hub.gql("embassy-bangkok", UPDATE, {"id": rid, "status": "TRAVEL_ARRANGED"})
    assert refused.codes == ["INVALID_TRANSITION"], refused.body


async def test_an_adult_travels_without_a_family_assessment(hub: RunningHub) -> None:
    rid = await _child_request(
        hub,
        "assess-adult-1",
        {"fullName": planted("Dara"), "dateOfBirth": "1990-01-01"},
        "AGE_30_38",
    )
    moved = await do(
        hub, "embassy-bangkok", UPDATE, {"id": rid, "status": "TRAVEL_ARRANGED"},
        "updateRepatriation",
    )  # fmt: skip
    assert moved["status"] == "TRAVEL_ARRANGED"
    # The family is assessed before the return only.
    for status in ("RETURNED",):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    late = await hub.gql("mosavy", RECORD_FAMILY, {"id": rid, "input": family(True, True)})
    assert late.codes == ["INVALID_TRANSITION"], late.body


async def test_assessments_and_transfer_reasons_are_sealed_at_rest(hub: RunningHub) -> None:
    """Whatever was written above in plain words is nowhere in the rows, only envelopes."""
    rid = await _child_request(hub, "assess-rest-1", {"fullName": planted("Vanna")}, "AGE_9_17")
    await do(
        hub, "mosavy", RECORD_FAMILY, {"id": rid, "input": family(True, True)},
        "recordFamilyAssessment",
    )  # fmt: skip
    (case_id,) = (await fetch(hub, "SELECT case_id FROM family_assessments"))[0]
    await do(hub, "adhoc", RECORD, assessment(case_id), "recordAssessment")
    for table in ("case_assessments", "family_assessments"):
        rows = await fetch(hub, f"SELECT * FROM {table}")
        assert rows and MARKER not in str(rows)
        assert "IDENTIFIED" not in str(rows) and "true" not in str(rows).lower()
    for table in ("events", "audit"):
        assert MARKER not in str(await fetch(hub, f"SELECT * FROM {table}"))
