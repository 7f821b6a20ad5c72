"""A transit centre opens a case, records consent, and legal aid sees only what it covers."""

from __future__ import annotations

from typing import Any

from tests.marker_watch import planted
from tests.network import RunningHub

CREATE = """
mutation($input: CreateCaseInput!) {
  createCase(input: $input) { id reference status fullName legalNotes withheld { field } }
}"""

CONSENT = """
mutation($input: RecordConsentInput!) {
  recordConsent(input: $input) { id version purposes categories recipientOrganizationIds }
}"""

READ = """
query($id: ID!) {
  case(id: $id) {
    id reference status ageBand fullName legalNotes healthNotes phone
    withheld { field category reason }
    statusHistory { status note }
  }
}"""

SURVIVOR: dict[str, Any] = {
    "fullName": planted("Sok Dara"),
    "phone": planted("+855 12 345 678"),
    "healthNotes": planted("needs follow-up for malaria"),
    "legalNotes": planted("complaint filed in Koh Kong court"),
    "homeProvince": "Prey Veng",  # a place is recorded as its code (KH-14): nothing to plant
}


async def open_case(hub: RunningHub, owner: str = "ccpcr-koh-kong") -> str:
    result = await hub.gql(
        owner,
        CREATE,
        {
            "input": {
                "ageBand": "AGE_24_26",
                "sex": "FEMALE",
                "nationality": "KH",
                "languages": ["km"],
                "needs": ["shelter", "legal aid"],
                "survivor": SURVIVOR,
                "note": planted("arrived from Thailand border"),
            }
        },
    )
    assert not result.errors, result.errors
    case = result.data["createCase"]
    assert case["fullName"] == SURVIVOR["fullName"] and case["status"] == "OPEN"
    assert case["reference"].startswith("RH-")
    return str(case["id"])


async def test_legal_aid_sees_only_what_the_survivor_consented_to(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    adhoc = hub.members["adhoc"].organization_id

    before = await hub.gql("adhoc", READ, {"id": case_id})
    assert before.codes == ["NOT_FOUND"] and before.data == {"case": None}

    consent = await hub.gql(
        "ccpcr-koh-kong",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "THUMBPRINT",
                "interpreterLanguage": "km",
                "purposes": ["LEGAL_AID"],
                "categories": ["IDENTITY", "LEGAL"],
                "recipientOrganizationIds": [adhoc],
            }
        },
    )
    assert not consent.errors, consent.errors
    grant = consent.data["recordConsent"]

    seen = await hub.gql("adhoc", READ, {"id": case_id})
    assert not seen.errors, seen.errors
    case = seen.data["case"]
    assert case["fullName"] == SURVIVOR["fullName"]
    assert case["legalNotes"] == SURVIVOR["legalNotes"]
    assert case["healthNotes"] is None and case["phone"] is None
    withheld = {w["field"]: w for w in case["withheld"]}
    assert withheld["healthNotes"]["reason"] == "CATEGORY_NOT_COVERED"
    assert withheld["phone"]["category"] == "CONTACT"
    assert "fullName" not in withheld
    assert [s["note"] for s in case["statusHistory"]] == [None]

    log = await hub.gql(
        "ccpcr-koh-kong",
        "query($id: ID!) { disclosures(caseId: $id) { organizationId categories consentId consentVersion channel } }",
        {"id": case_id},
    )
    assert log.data["disclosures"] == [
        {
            "organizationId": adhoc,
            "categories": ["IDENTITY", "LEGAL"],
            "consentId": grant["id"],
            "consentVersion": 1,
            "channel": "QUERY",
        }
    ]

    withdrawn = await hub.gql(
        "ccpcr-koh-kong",
        'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "survivor asked") '
        "{ withdrawal { reason } holders { organizationId acknowledgedAt } } }",
        {"id": grant["id"]},
    )
    assert not withdrawn.errors, withdrawn.errors
    assert withdrawn.data["withdrawConsent"]["holders"] == [
        {"organizationId": adhoc, "acknowledgedAt": None}
    ]
    after = await hub.gql("adhoc", READ, {"id": case_id})
    assert after.codes == ["NOT_FOUND"]

    notices = await hub.gql("adhoc", "{ consentWithdrawalNotices { consentId caseId } }")
    assert notices.data["consentWithdrawalNotices"] == [
        {"consentId": grant["id"], "caseId": case_id}
    ]
    ack = await hub.gql(
        "adhoc",
        "mutation($id: ID!) { acknowledgeConsentWithdrawal(consentId: $id) { acknowledgedAt } }",
        {"id": grant["id"]},
    )
    assert ack.data["acknowledgeConsentWithdrawal"]["acknowledgedAt"] is not None


async def test_only_the_survivor_fields_asked_for_are_opened_and_logged(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    adhoc = hub.members["adhoc"].organization_id
    granted = await hub.gql(
        "ccpcr-koh-kong",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["LEGAL_AID"],
                "categories": ["IDENTITY", "LEGAL"],
                "recipientOrganizationIds": [adhoc],
            }
        },
    )
    assert not granted.errors, granted.errors
    count = "SELECT COUNT(*) FROM disclosures WHERE case_id = :id"

    bare = await hub.gql(
        "adhoc", "query($id: ID!) { case(id: $id) { reference ageBand } }", {"id": case_id}
    )
    assert not bare.errors and await hub.scalar(count, id=case_id) == 0

    named = await hub.gql(
        "adhoc", "query($id: ID!) { case(id: $id) { ... on Case { fullName } } }", {"id": case_id}
    )
    assert named.data["case"]["fullName"] == SURVIVOR["fullName"]
    assert await hub.scalar(count, id=case_id) == 1
    logged = await hub.scalar("SELECT categories FROM disclosures WHERE case_id = :id", id=case_id)
    assert "LEGAL" not in str(logged) and "IDENTITY" in str(logged)
