"""ADHOC asks the embassy in Bangkok to bring a survivor home from immigration detention."""

from __future__ import annotations

from tests.marker_watch import planted
from tests.network import RunningHub

NAME = planted("Chan Vuthy")

CREATE = """
mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"""
CONSENT = """
mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }"""
REQUEST = """
mutation($input: RequestRepatriationInput!) {
  requestRepatriation(input: $input) { id status version acknowledgeBy }
}"""
FIELDS = "id status version history { action toStatus by } case { status fullName }"


async def test_embassy_brings_a_survivor_home(hub: RunningHub) -> None:
    org = {k: m.organization_id for k, m in hub.members.items()}
    created = await hub.gql(
        "adhoc",
        CREATE,
        {
            "input": {
                "ageBand": "AGE_21_23",
                "sex": "MALE",
                "nationality": "KH",
                "survivor": {"fullName": NAME, "currentLocation": planted("IDC Suan Phlu")},
            }
        },
    )
    case_id = created.data["createCase"]["id"]
    consent = await hub.gql(
        "adhoc",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["REPATRIATION"],
                "categories": ["IDENTITY", "LOCATION"],
                "recipientOrganizationIds": [org["embassy-bangkok"], org["mosavy"]],
            }
        },
    )
    assert not consent.errors, consent.errors
    sent = await hub.gql(
        "adhoc",
        REQUEST,
        {
            "input": {
                "caseId": case_id,
                "embassyId": org["embassy-bangkok"],
                "receivingOrganizationId": org["mosavy"],
                "currentCountry": "TH",
                "situation": "IMMIGRATION_DETENTION",
                "documentsHeld": ["NONE"],
                "assistanceNeeded": ["NATIONALITY_VERIFICATION", "TRAVEL_DOCUMENT", "ESCORT"],
                "urgency": "URGENT",
                "idempotencyKey": "adhoc-rep-0001",
            }
        },
    )
    assert not sent.errors, sent.errors
    rid = sent.data["requestRepatriation"]["id"]

    ack = await hub.gql(
        "embassy-bangkok", f'mutation {{ acknowledgeRepatriation(id: "{rid}") {{ {FIELDS} }} }}'
    )
    assert not ack.errors, ack.errors
    assert ack.data["acknowledgeRepatriation"]["case"]["fullName"] == NAME
    for status in ["VERIFYING", "DOCUMENTS_ISSUED", "TRAVEL_ARRANGED", "RETURNED"]:
        step = await hub.gql(
            "embassy-bangkok",
            f'mutation {{ updateRepatriation(id: "{rid}", status: {status}) {{ {FIELDS} }} }}',
        )
        assert not step.errors, (status, step.errors)
    skipped = await hub.gql(
        "embassy-bangkok", f'mutation {{ confirmHandover(id: "{rid}") {{ id }} }}'
    )
    assert skipped.codes == ["INVALID_TRANSITION"]
    handed = await hub.gql("mosavy", f'mutation {{ confirmHandover(id: "{rid}") {{ {FIELDS} }} }}')
    assert not handed.errors, handed.errors
    final = handed.data["confirmHandover"]
    assert final["status"] == "HANDED_OVER" and final["version"] == 7
    assert final["case"]["status"] == "REPATRIATED"

    outsider = await hub.gql("ngo-malaysia", f'{{ repatriationRequest(id: "{rid}") {{ id }} }}')
    assert outsider.codes == ["NOT_FOUND"]
