"""Koh Kong transit centre refers a survivor to ADHOC for legal aid; the loop closes."""

from __future__ import annotations

from tests.api.test_cases_flow import CONSENT, SURVIVOR, open_case
from tests.marker_watch import planted
from tests.network import RunningHub

SEND = """
mutation($input: SendReferralInput!) {
  sendReferral(input: $input) { id status version reason services acknowledgeBy respondBy }
}"""

FIELDS = "id status version overdue history { action fromStatus toStatus by version reason }"


async def consent_for(hub: RunningHub, case_id: str, member: str, purpose: str) -> None:
    result = await hub.gql(
        "ccpcr-koh-kong",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": [purpose],
                "categories": ["IDENTITY", "LEGAL"],
                "recipientOrganizationIds": [hub.members[member].organization_id],
            }
        },
    )
    assert not result.errors, result.errors


async def test_legal_aid_referral_accepted_and_completed(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    adhoc = hub.members["adhoc"].organization_id
    send = {
        "input": {
            "caseId": case_id,
            "receivingOrganizationId": adhoc,
            "services": ["LEGAL_AID"],
            "urgency": "URGENT",
            "reason": planted("wants to file a complaint against the broker"),
            "idempotencyKey": "kk-2026-0001-adhoc",
        }
    }
    refused = await hub.gql("ccpcr-koh-kong", SEND, send)
    assert refused.codes == ["CONSENT_REQUIRED"]

    await consent_for(hub, case_id, "adhoc", "LEGAL_AID")
    sent = await hub.gql("ccpcr-koh-kong", SEND, send)
    assert not sent.errors, sent.errors
    referral = sent.data["sendReferral"]
    assert referral["status"] == "SENT" and referral["version"] == 1
    again = await hub.gql("ccpcr-koh-kong", SEND, send)
    assert again.data["sendReferral"]["id"] == referral["id"]

    rid = referral["id"]
    for mutation, extra in [
        ("acknowledgeReferral", ""),
        ("acceptReferral", ""),
        ("startReferral", ""),
        ("completeReferral", ', outcome: {servicesDelivered: [LEGAL_AID], note: "case filed"}'),
    ]:
        done = await hub.gql(
            "adhoc", f'mutation {{ {mutation}(id: "{rid}"{extra}) {{ {FIELDS} }} }}'
        )
        assert not done.errors, (mutation, done.errors)
    final = done.data["completeReferral"]
    assert final["status"] == "COMPLETED" and final["version"] == 5
    assert [h["toStatus"] for h in final["history"]] == [
        "SENT",
        "ACKNOWLEDGED",
        "ACCEPTED",
        "IN_PROGRESS",
        "COMPLETED",
    ]
    inbox = await hub.gql(
        "adhoc",
        "{ referrals(box: INBOX) { edges { cursor node { id status case { reference fullName legalNotes } } } "
        "pageInfo { hasNextPage endCursor } } }",
    )
    assert not inbox.errors, inbox.errors
    node = inbox.data["referrals"]["edges"][0]["node"]
    assert node["id"] == rid and node["case"]["fullName"] == SURVIVOR["fullName"]
    case = await hub.gql(
        "ccpcr-koh-kong",
        "query($id: ID!) { case(id: $id) { status statusHistory { status } } }",
        {"id": case_id},
    )
    assert [s["status"] for s in case.data["case"]["statusHistory"]] == [
        "OPEN",
        "REFERRED",
        "IN_CARE",
    ]
