"""Every word written about a survivor is survivor data.

Koh Kong refers a survivor to ADHOC for legal aid. The reason speaks of her complaint
(LEGAL, which she consented to); the notes speak of her health (left unlabelled, so HEALTH,
which she did not). ADHOC reads the one and not the other. When she withdraws her consent,
ADHOC reads neither, the referral waits ON_HOLD and both sides hear of it; when she gives a
new consent, it goes back to where it was. The owner reads its own words throughout.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cases.consent_clock import follow_consent_clock
from tests.api.event_support import next_events, partner_socket, registered, start
from tests.api.referral_steps import SENDER, as_json, events_about, rows, send_input
from tests.api.test_cases_flow import open_case
from tests.api.test_referral_flow import SEND
from tests.network import GraphQLResult, RunningHub

MARK = "zq-free-text-7Hc2"
REASON = f"wants to file a complaint against the broker {MARK}-reason"
NOTES = f"HIV+, on treatment at the provincial hospital {MARK}-notes"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }"
WITHDRAW = (
    'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "she wants no contact '
    f'{MARK}-why") {{ id withdrawal {{ reason }} }} }}'
)
READ = """
query($id: ID!) {
  referral(id: $id) {
    id status version heldForConsent reason notes
    withheld { field category reason }
    history { action fromStatus toStatus by reason }
  }
}"""
ACCEPT = "mutation($id: ID!) { acceptReferral(id: $id) { id status } }"
ACK = "mutation($id: ID!) { acknowledgeReferral(id: $id) { id status reason } }"


async def legal_aid_consent(hub: RunningHub, case_id: str, categories: list[str]) -> str:
    result = await hub.gql(
        SENDER,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": ["LEGAL_AID"],
                "categories": categories,
                "recipientOrganizationIds": [hub.members["adhoc"].organization_id],
            }
        },
    )
    assert not result.errors, result.errors
    consent_id: str = result.data["recordConsent"]["id"]
    return consent_id


def withheld_of(result: GraphQLResult) -> dict[str, tuple[str, str]]:
    return {w["field"]: (w["category"], w["reason"]) for w in result.data["referral"]["withheld"]}


async def read(hub: RunningHub, who: str, rid: str) -> GraphQLResult:
    result = await hub.gql(who, READ, {"id": rid})
    assert not result.errors, result.errors
    return result


async def disclosed_to(hub: RunningHub, member: str) -> list[list[str]]:
    found = await rows(
        hub,
        "SELECT categories FROM disclosures WHERE organization_id = :org ORDER BY id",
        org=hub.members[member].organization_id,
    )
    return [sorted(as_json(c)) for (c,) in found]


async def test_withdrawal_withholds_the_free_text_and_holds_the_referral_until_new_consent(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub)
    consent_id = await legal_aid_consent(hub, case_id, ["IDENTITY", "LEGAL"])
    variables = send_input(
        hub, case_id, "adhoc", "kk-free-0001", reason=REASON, reasonCategory="LEGAL", notes=NOTES
    )
    sent = await hub.gql(SENDER, SEND, variables)
    assert not sent.errors, sent.errors
    rid = sent.data["sendReferral"]["id"]

    # ADHOC reads the reason (LEGAL) but not the unlabelled notes (HEALTH, the strictest),
    seen = await read(hub, "adhoc", rid)
    assert seen.data["referral"]["reason"] == REASON
    assert seen.data["referral"]["notes"] is None
    assert withheld_of(seen) == {"notes": ("HEALTH", "CATEGORY_NOT_COVERED")}
    assert f"{MARK}-notes" not in json.dumps(seen.body)
    # and what it read is in the disclosure log, under the LEGAL category only.
    assert await disclosed_to(hub, "adhoc") == [["LEGAL"]]
    acknowledged = await hub.gql("adhoc", ACK, {"id": rid})
    assert acknowledged.data["acknowledgeReferral"]["status"] == "ACKNOWLEDGED"
    # (the acknowledgement showed the reason again: logged again)
    logged = await disclosed_to(hub, "adhoc")
    assert logged == [["LEGAL"], ["LEGAL"]]

    # When the survivor withdraws her consent (both sides listening on their sockets)
    updates = "subscription($box: ReferralBox!) { referralUpdates(box: $box) { type payload } }"
    async with (
        partner_socket(hub, "adhoc") as inbox,
        partner_socket(hub, SENDER) as outbox,
    ):
        await start(inbox, "1", updates, {"box": "INBOX"})
        await start(outbox, "1", updates, {"box": "OUTBOX"})
        await registered(hub, 2)
        withdrawn = await hub.gql(SENDER, WITHDRAW, {"id": consent_id})
        assert not withdrawn.errors, withdrawn.errors
        for ws in (inbox, outbox):
            (event,) = await next_events(ws, 1)
            assert event["type"] == "REFERRAL_HELD_FOR_CONSENT"
            assert event["payload"]["referralId"] == rid
            assert event["payload"]["status"] == "ON_HOLD"
            assert MARK not in json.dumps(event)
    # (the owner reads her reason back; at rest it is sealed)
    assert withdrawn.data["withdrawConsent"]["withdrawal"]["reason"].endswith(f"{MARK}-why")
    stored = await rows(hub, "SELECT * FROM consent_withdrawals")
    assert stored and f"{MARK}-why" not in str(stored)

    # Then ADHOC reads no word about her, and the referral waits for consent
    after = await read(hub, "adhoc", rid)
    referral = after.data["referral"]
    assert referral["status"] == "ON_HOLD" and referral["heldForConsent"] is True
    assert referral["reason"] is None and referral["notes"] is None
    assert withheld_of(after) == {
        "reason": ("LEGAL", "WITHDRAWN"),
        "notes": ("HEALTH", "CATEGORY_NOT_COVERED"),
    }
    assert MARK not in json.dumps(after.body)
    assert await disclosed_to(hub, "adhoc") == logged
    assert [(h["action"], h["fromStatus"], h["toStatus"], h["by"]) for h in referral["history"]][
        -1
    ] == ("CONSENT_HOLD", "ACKNOWLEDGED", "ON_HOLD", None)
    # nor can it move the referral forward; it may still let it go
    refused = await hub.gql("adhoc", ACCEPT, {"id": rid})
    assert refused.codes == ["INVALID_TRANSITION"]
    # Both sides are told, by an event without a word of the text
    both = sorted([hub.members[SENDER].organization_id, hub.members["adhoc"].organization_id])
    events = await events_about(hub, rid)
    held = [e for e in events if e["type"] == "REFERRAL_HELD_FOR_CONSENT"]
    assert [(e["audience"], e["payload"]["status"]) for e in held] == [(both, "ON_HOLD")]
    assert MARK not in json.dumps(events)
    # The owner still reads its own words
    own = await read(hub, SENDER, rid)
    assert own.data["referral"]["reason"] == REASON and own.data["referral"]["notes"] == NOTES
    assert withheld_of(own) == {}

    # When she gives a new consent that covers ADHOC again
    await legal_aid_consent(hub, case_id, ["LEGAL", "HEALTH"])
    back = await read(hub, "adhoc", rid)
    assert back.data["referral"]["status"] == "ACKNOWLEDGED"
    assert back.data["referral"]["heldForConsent"] is False
    assert back.data["referral"]["reason"] == REASON and back.data["referral"]["notes"] == NOTES
    resumed = [e for e in await events_about(hub, rid) if e["type"] == "REFERRAL_CONSENT_RESUMED"]
    assert [(e["audience"], e["payload"]["status"]) for e in resumed] == [(both, "ACKNOWLEDGED")]
    accepted = await hub.gql("adhoc", ACCEPT, {"id": rid})
    assert accepted.data["acceptReferral"]["status"] == "ACCEPTED", accepted.body


async def test_a_consent_other_than_the_one_withdrawn_keeps_the_referral_going(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub)
    first = await legal_aid_consent(hub, case_id, ["LEGAL"])
    await legal_aid_consent(hub, case_id, ["IDENTITY"])
    variables = send_input(hub, case_id, "adhoc", "kk-free-0002", reasonCategory="LEGAL")
    rid = (await hub.gql(SENDER, SEND, variables)).data["sendReferral"]["id"]
    withdrawn = await hub.gql(SENDER, WITHDRAW, {"id": first})
    assert not withdrawn.errors, withdrawn.errors
    # Still covered (for IDENTITY): not held, but the LEGAL reason is no longer shown.
    after = await read(hub, "adhoc", rid)
    assert after.data["referral"]["status"] == "SENT"
    assert after.data["referral"]["heldForConsent"] is False
    assert withheld_of(after) == {
        "reason": ("LEGAL", "WITHDRAWN"),
        "notes": ("HEALTH", "CATEGORY_NOT_COVERED"),
    }
    assert not [e for e in await events_about(hub, rid) if "CONSENT" in e["type"]]


async def test_a_writer_chooses_only_a_real_category(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    await legal_aid_consent(hub, case_id, ["LEGAL"])
    variables: dict[str, Any] = send_input(
        hub, case_id, "adhoc", "kk-free-0003", reasonCategory="GOSSIP"
    )
    refused = await hub.gql(SENDER, SEND, variables)
    assert refused.status in (200, 400) and refused.errors
    assert await hub.scalar("SELECT COUNT(*) FROM referrals") == 0


async def test_work_is_held_when_its_consent_lapses_and_resumed_when_a_later_one_begins(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub)
    now = datetime.now(UTC)
    adhoc = hub.members["adhoc"].organization_id
    for window in (
        {"validUntil": (now + timedelta(days=1)).isoformat()},
        {"validFrom": (now + timedelta(days=3)).isoformat()},
    ):
        recorded = await hub.gql(
            SENDER,
            CONSENT,
            {
                "input": {
                    "caseId": case_id,
                    "grantor": "SURVIVOR",
                    "method": "WRITTEN",
                    "purposes": ["LEGAL_AID"],
                    "categories": ["LEGAL"],
                    "recipientOrganizationIds": [adhoc],
                    **window,
                }
            },
        )
        assert not recorded.errors, recorded.errors
    variables = send_input(hub, case_id, "adhoc", "kk-free-0004", reasonCategory="LEGAL")
    rid = (await hub.gql(SENDER, SEND, variables)).data["sendReferral"]["id"]

    # The hub's clock, two days on: the first consent has lapsed, the second not yet begun
    assert await follow_consent_clock(hub.db, now + timedelta(days=2)) == 1
    held = (await read(hub, SENDER, rid)).data["referral"]
    assert (held["status"], held["heldForConsent"]) == ("ON_HOLD", True)
    assert held["history"][-1]["action"] == "CONSENT_HOLD"
    # a second pass at the same moment changes nothing
    events = await hub.scalar("SELECT COUNT(*) FROM events")
    await follow_consent_clock(hub.db, now + timedelta(days=2))
    assert await hub.scalar("SELECT COUNT(*) FROM events") == events
    # four days on, the later consent is in force: back to SENT
    await follow_consent_clock(hub.db, now + timedelta(days=4))
    back = (await read(hub, SENDER, rid)).data["referral"]
    assert (back["status"], back["heldForConsent"]) == ("SENT", False)
    kinds = [e["type"] for e in await events_about(hub, rid)]
    assert kinds[-2:] == ["REFERRAL_HELD_FOR_CONSENT", "REFERRAL_CONSENT_RESUMED"]
