"""Steps shared by the custody transfer and assessment tests."""

from __future__ import annotations

from typing import Any

from tests.api.repatriation_support import (
    ACK,
    HANDOVER,
    REQUEST,
    UPDATE,
    do,
    give_consent,
    open_case,
    orgs,
    request_input,
)
from tests.network import RunningHub

TRANSFER_FIELDS = (
    "id caseId fromId toId origin repatriationId status version reason answerReason "
    "answeredBy answeredAt withheld { field category reason }"
)
TRANSFER = f"""
mutation($input: TransferCaseInput!) {{ transferCase(input: $input) {{ {TRANSFER_FIELDS} }} }}"""
ACCEPT = f"""
mutation($id: ID!, $v: Int) {{
  acceptCaseTransfer(id: $id, expectedVersion: $v) {{ {TRANSFER_FIELDS} }}
}}"""
DECLINE = f"""
mutation($id: ID!, $reason: String!, $v: Int, $c: DataCategory) {{
  declineCaseTransfer(id: $id, reason: $reason, expectedVersion: $v, reasonCategory: $c) {{
    {TRANSFER_FIELDS}
  }}
}}"""
CANCEL = f"""
mutation($id: ID!, $reason: String, $v: Int) {{
  cancelCaseTransfer(id: $id, reason: $reason, expectedVersion: $v) {{ {TRANSFER_FIELDS} }}
}}"""
ONE = f"query($id: ID!) {{ caseTransfer(id: $id) {{ {TRANSFER_FIELDS} }} }}"
BOX = f"""
query($box: ReferralBox!, $status: TransferStatus) {{
  caseTransfers(box: $box, status: $status, first: 20) {{
    edges {{ node {{ {TRANSFER_FIELDS} }} }} pageInfo {{ hasNextPage }}
  }}
}}"""
HISTORY = f"query($id: ID!) {{ custodyHistory(caseId: $id) {{ {TRANSFER_FIELDS} }} }}"
CASE = """
query($id: ID!) { case(id: $id) { id ownerId status version fullName withheld { field reason } } }"""
SET_STATUS = """
mutation($id: ID!, $status: CaseStatus!) { updateCaseStatus(caseId: $id, status: $status) {
  id status ownerId } }"""
SEND = """
mutation($input: SendReferralInput!) { sendReferral(input: $input) { id status } }"""
CONSENT = """
mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }"""

TABLES = ("case_transfers", "case_parties", "events", "audit", "cases")


def transfer_input(
    hub: RunningHub, case_id: str, to: str, reason: str, key: str, **more: Any
) -> dict[str, Any]:
    return {
        "input": {
            "caseId": case_id,
            "toOrganizationId": orgs(hub)[to],
            "reason": reason,
            "idempotencyKey": key,
            **more,
        }
    }


async def consent_to(
    hub: RunningHub,
    case_id: str,
    owner: str,
    recipients: list[str],
    purposes: list[str],
    categories: list[str],
) -> None:
    org = orgs(hub)
    await do(
        hub,
        owner,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": purposes,
                "categories": categories,
                "recipientOrganizationIds": [org[r] for r in recipients],
            }
        },
        "recordConsent",
    )


async def counts(hub: RunningHub) -> dict[str, int]:
    return {t: int(await hub.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


async def returned_home(hub: RunningHub, key: str) -> tuple[str, str]:
    """The NGO in Thailand's case, its survivor brought home by the embassy in Bangkok and
    waiting at the border for the Ministry (reception): the request is RETURNED."""
    case_id = await open_case(hub, owner="ngo-thailand")
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"], owner="ngo-thailand")
    sent = await do(
        hub,
        "ngo-thailand",
        REQUEST,
        {"input": request_input(hub, case_id, key)},
        "requestRepatriation",
    )
    rid = sent["id"]
    await do(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation")
    for status in ("VERIFYING", "DOCUMENTS_ISSUED", "TRAVEL_ARRANGED", "RETURNED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    return case_id, rid


async def hand_over(hub: RunningHub, rid: str) -> None:
    done = await do(hub, "mosavy", HANDOVER, {"id": rid}, "confirmHandover")
    assert done["status"] == "HANDED_OVER"
