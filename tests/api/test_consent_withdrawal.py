"""Withdrawn consent reaches every organisation that already holds the survivor's data.

The survivor withdraws consent she gave to legal aid, the shelter and an NGO in Malaysia.
The two that had read her case are told, through a notice and an event, and must
acknowledge; the owner sees who has and who has not.
"""

from __future__ import annotations

import json
from typing import Any

from tests.marker_watch import planted
from tests.network import RunningHub

OWNER = "ccpcr-koh-kong"
NAME = planted("Rith Withdrawnconsent")
SURVIVOR = {
    "fullName": NAME,
    "healthNotes": planted("recovering well"),
    "phone": planted("+855 77 100 200"),
}
CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id version } }"
READ = "query($id: ID!) { case(id: $id) { id fullName healthNotes } }"
WITHDRAW = (
    "mutation($id: ID!) { withdrawConsent(consentId: $id, "
    f'reason: "{planted("survivor changed her mind")}") '
    "{ id holders { organizationId acknowledgedAt } } }"
)


async def grant(hub: RunningHub, case_id: str, **fields: Any) -> dict[str, Any]:
    result = await hub.gql(
        OWNER,
        CONSENT,
        {"input": {"caseId": case_id, "grantor": "SURVIVOR", "method": "WRITTEN", **fields}},
    )
    assert not result.errors, result.errors
    recorded: dict[str, Any] = result.data["recordConsent"]
    return recorded


ACK = "mutation($id: ID!) { acknowledgeConsentWithdrawal(consentId: $id) { consentId acknowledgedAt } }"
NOTICES = "query($pending: Boolean!) { consentWithdrawalNotices(pendingOnly: $pending) { consentId caseId acknowledgedAt } }"
HOLDERS = (
    "query($id: ID!) { consents(caseId: $id) { id holders { organizationId acknowledgedAt } } }"
)


async def audience_of_withdrawal(hub: RunningHub, consent_id: str) -> list[str]:
    raw = await hub.scalar(
        "SELECT audience FROM events WHERE type = 'CONSENT_WITHDRAWN' AND subject_id = :id",
        id=consent_id,
    )
    audience: list[str] = json.loads(raw) if isinstance(raw, str) else raw
    return audience


async def test_a_withdrawal_reaches_every_holder_and_the_owner_sees_who_acknowledged(
    hub: RunningHub,
) -> None:
    org = {key: m.organization_id for key, m in hub.members.items()}
    created = await hub.gql(
        OWNER, CREATE, {"input": {"ageBand": "AGE_30_38", "sex": "MALE", "survivor": SURVIVOR}}
    )
    case_id = created.data["createCase"]["id"]
    # Given consent naming legal aid, the shelter and an NGO in Malaysia
    recipients = [org["adhoc"], org["ccpcr-shelter"], org["ngo-malaysia"]]
    consent = await grant(
        hub,
        case_id,
        purposes=["LEGAL_AID", "SERVICE_REFERRAL"],
        categories=["IDENTITY", "HEALTH"],
        recipientOrganizationIds=recipients,
    )
    # and legal aid and the shelter have read the case; the NGO never did
    for member in ("adhoc", "ccpcr-shelter"):
        seen = await hub.gql(member, READ, {"id": case_id})
        assert seen.data["case"]["fullName"] == NAME, seen.body
    holders = sorted([org["adhoc"], org["ccpcr-shelter"]])

    # When the survivor withdraws it
    withdrawn = await hub.gql(OWNER, WITHDRAW, {"id": consent["id"]})
    assert not withdrawn.errors, withdrawn.errors
    assert withdrawn.data["withdrawConsent"]["holders"] == [
        {"organizationId": o, "acknowledgedAt": None} for o in holders
    ]

    # Then the next read by any former recipient finds nothing
    for member in ("adhoc", "ccpcr-shelter", "ngo-malaysia"):
        after = await hub.gql(member, READ, {"id": case_id})
        assert after.codes == ["NOT_FOUND"], member
    # and each holder has a notice and an event addressed to it
    audience = await audience_of_withdrawal(hub, consent["id"])
    assert set(holders) | {org[OWNER]} <= set(audience)
    assert org["embassy-beijing"] not in audience
    for member in ("adhoc", "ccpcr-shelter"):
        notices = await hub.gql(member, NOTICES, {"pending": True})
        assert notices.data["consentWithdrawalNotices"] == [
            {"consentId": consent["id"], "caseId": case_id, "acknowledgedAt": None}
        ]
    silent = await hub.gql("ngo-malaysia", NOTICES, {"pending": False})
    assert silent.data["consentWithdrawalNotices"] == []

    # When legal aid acknowledges (twice: the second changes nothing)
    ack = await hub.gql("adhoc", ACK, {"id": consent["id"]})
    assert not ack.errors, ack.errors
    acknowledged_at = ack.data["acknowledgeConsentWithdrawal"]["acknowledgedAt"]
    assert acknowledged_at is not None
    events = await hub.scalar("SELECT COUNT(*) FROM events")
    again = await hub.gql("adhoc", ACK, {"id": consent["id"]})
    assert again.data["acknowledgeConsentWithdrawal"]["acknowledgedAt"] == acknowledged_at
    assert await hub.scalar("SELECT COUNT(*) FROM events") == events
    # an organisation that held nothing has nothing to acknowledge
    stranger = await hub.gql("embassy-beijing", ACK, {"id": consent["id"]})
    assert stranger.codes == ["NOT_FOUND"]

    # Then the owner sees who has acknowledged and who has not
    shown = await hub.gql(OWNER, HOLDERS, {"id": case_id})
    assert shown.data["consents"] == [
        {
            "id": consent["id"],
            "holders": [
                {
                    "organizationId": o,
                    "acknowledgedAt": acknowledged_at if o == org["adhoc"] else None,
                }
                for o in holders
            ],
        }
    ]
    pending = await hub.gql("adhoc", NOTICES, {"pending": True})
    assert pending.data["consentWithdrawalNotices"] == []
    history = await hub.gql("adhoc", NOTICES, {"pending": False})
    assert history.data["consentWithdrawalNotices"] == [
        {"consentId": consent["id"], "caseId": case_id, "acknowledgedAt": acknowledged_at}
    ]
