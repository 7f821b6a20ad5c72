"""Custody passes from one organisation to another: at the hand-over at home, and on offer."""

from __future__ import annotations

from tests.api.custody_support import (
    ACCEPT,
    BOX,
    CANCEL,
    CASE,
    DECLINE,
    HISTORY,
    ONE,
    SEND,
    SET_STATUS,
    TRANSFER,
    consent_to,
    hand_over,
    returned_home,
    transfer_input,
)
from tests.api.event_support import POLL, head, next_events, partner_socket, start
from tests.api.repatriation_support import decoded, do, fetch, open_case, orgs
from tests.marker_watch import MARKER, planted
from tests.network import RunningHub


async def test_the_reception_organisation_takes_the_case_over_after_the_hand_over(
    hub: RunningHub,
) -> None:
    """The issue's failure: after confirmHandover the Ministry could not take the case over
    and the NGO in Thailand still owned it."""
    org = orgs(hub)
    case_id, rid = await returned_home(hub, "custody-handover-1")
    # Before the hand-over nothing is offered, and the Ministry owns nothing.
    assert (await do(hub, "mosavy", BOX, {"box": "INBOX"}, "caseTransfers"))["edges"] == []
    await hand_over(hub, rid)

    inbox = await do(hub, "mosavy", BOX, {"box": "INBOX", "status": "OFFERED"}, "caseTransfers")
    (edge,) = inbox["edges"]
    offer = edge["node"]
    assert offer["caseId"] == case_id and offer["repatriationId"] == rid
    assert offer["origin"] == "HANDOVER" and offer["status"] == "OFFERED"
    assert (offer["fromId"], offer["toId"]) == (org["ngo-thailand"], org["mosavy"])
    outbox = await do(hub, "ngo-thailand", BOX, {"box": "OUTBOX"}, "caseTransfers")
    assert [e["node"]["id"] for e in outbox["edges"]] == [offer["id"]]

    # Until it accepts, the case is still the NGO's.
    refused = await hub.gql("mosavy", SET_STATUS, {"id": case_id, "status": "REINTEGRATING"})
    assert refused.codes == ["FORBIDDEN"], refused.body

    accepted = await do(hub, "mosavy", ACCEPT, {"id": offer["id"], "v": 1}, "acceptCaseTransfer")
    assert accepted["status"] == "ACCEPTED" and accepted["version"] == 2
    assert accepted["answeredBy"] == org["mosavy"] and accepted["answeredAt"]

    # The Ministry now does everything only the owner may: status, consent, referrals.
    moved = await do(
        hub, "mosavy", SET_STATUS, {"id": case_id, "status": "REINTEGRATING"}, "updateCaseStatus"
    )
    assert moved == {"id": case_id, "status": "REINTEGRATING", "ownerId": org["mosavy"]}
    await consent_to(hub, case_id, "mosavy", ["ccpcr-shelter"], ["SERVICE_REFERRAL"], ["HEALTH"])
    referral = await do(
        hub,
        "mosavy",
        SEND,
        {
            "input": {
                "caseId": case_id,
                "receivingOrganizationId": org["ccpcr-shelter"],
                "services": ["PSYCHOSOCIAL"],
                "urgency": "ROUTINE",
                "reason": planted("needs counselling after return"),
                "idempotencyKey": "custody-handover-ref-1",
            }
        },
        "sendReferral",
    )
    assert referral["status"] == "SENT"

    # The former owner cannot any more, and sees only what consent gives it (none names it).
    for query, variables in (
        (SET_STATUS, {"id": case_id, "status": "IN_CARE"}),
        (
            SEND,
            {
                "input": {
                    "caseId": case_id,
                    "receivingOrganizationId": org["ccpcr-shelter"],
                    "services": ["PSYCHOSOCIAL"],
                    "urgency": "ROUTINE",
                    "reason": planted("again"),
                    "idempotencyKey": "custody-handover-ref-2",
                }
            },
        ),
    ):
        late = await hub.gql("ngo-thailand", query, variables)
        assert late.codes == ["FORBIDDEN"], late.body
    seen = await do(hub, "ngo-thailand", CASE, {"id": case_id}, "case")
    assert seen["ownerId"] == org["mosavy"] and seen["fullName"] is None
    assert {"field": "fullName", "reason": "RECIPIENT_NOT_COVERED"} in seen["withheld"]
    mine = await do(hub, "mosavy", CASE, {"id": case_id}, "case")
    assert mine["fullName"] == planted("Chan Vuthy")

    # History shows the transfer to both, and to the shelter now party to the case.
    for member in ("mosavy", "ngo-thailand", "ccpcr-shelter"):
        history = await do(hub, member, HISTORY, {"id": case_id}, "custodyHistory")
        assert [(h["id"], h["status"]) for h in history] == [(offer["id"], "ACCEPTED")]

    events = await fetch(
        hub,
        "SELECT type, audience, payload FROM events WHERE type LIKE 'CASE_TRANSFER_%' "
        "AND subject_id = :case ORDER BY id",
        case=case_id,
    )
    assert [e[0] for e in events] == ["CASE_TRANSFER_OFFERED", "CASE_TRANSFER_ACCEPTED"]
    for _type, audience, payload in events:
        assert sorted(decoded(audience)) == sorted([org["ngo-thailand"], org["mosavy"]])
        assert set(decoded(payload)) == {
            "transferId",
            "caseId",
            "status",
            "version",
            "from",
            "to",
            "origin",
        }
    audit = await fetch(
        hub,
        "SELECT action FROM audit WHERE subject_id = :t ORDER BY seq",
        t=offer["id"],
    )
    assert [a[0] for a in audit] == ["case.transfer_offer", "case.transfer_accept"]


async def test_an_owner_offers_its_case_and_the_addressee_declines_then_accepts(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    case_id = await open_case(hub)  # ADHOC's
    await consent_to(
        hub, case_id, "adhoc", ["ccpcr-shelter"], ["SERVICE_REFERRAL"], ["IDENTITY", "HEALTH"]
    )
    reason = planted("she is moving to Phnom Penh for treatment")
    offered = await do(
        hub,
        "adhoc",
        TRANSFER,
        transfer_input(hub, case_id, "ccpcr-shelter", reason, "custody-offer-1"),
        "transferCase",
    )
    assert offered["status"] == "OFFERED" and offered["origin"] == "OFFER"
    assert offered["reason"] == reason
    # The addressee reads the reason (HEALTH, the strictest, by default) under consent and
    # may look at the case before it decides.
    seen = await do(hub, "ccpcr-shelter", ONE, {"id": offered["id"]}, "caseTransfer")
    assert seen["reason"] == reason and seen["withheld"] == []
    case = await do(hub, "ccpcr-shelter", CASE, {"id": case_id}, "case")
    assert case["ownerId"] == org["adhoc"] and case["fullName"] == planted("Chan Vuthy")

    no = planted("no bed for her this month")
    declined = await do(
        hub,
        "ccpcr-shelter",
        DECLINE,
        {"id": offered["id"], "reason": no, "v": 1, "c": "LOCATION"},
        "declineCaseTransfer",
    )
    # Its answer speaks of where she would stay (LOCATION), which her consent does not give
    # the shelter: even its writer reads it back only as consent allows. The owner reads it.
    assert declined["status"] == "DECLINED" and declined["answerReason"] is None
    assert {"field": "answerReason", "category": "LOCATION", "reason": "CATEGORY_NOT_COVERED"} in (
        declined["withheld"]
    )
    answered = await do(hub, "adhoc", ONE, {"id": offered["id"]}, "caseTransfer")
    assert answered["answerReason"] == no
    # Declined: its standing as the one deciding ends (the consent naming it remains), and
    # the case stays ADHOC's.
    standing = await fetch(
        hub,
        "SELECT ended_at FROM case_parties WHERE source_type = 'TRANSFER' AND source_id = :t",
        t=offered["id"],
    )
    assert len(standing) == 1 and standing[0][0] is not None
    case = await do(hub, "ccpcr-shelter", CASE, {"id": case_id}, "case")
    assert case["ownerId"] == org["adhoc"]
    # The owner reads the answer; a new offer may follow the answered one.
    again = await do(
        hub,
        "adhoc",
        TRANSFER,
        transfer_input(hub, case_id, "ccpcr-shelter", reason, "custody-offer-2"),
        "transferCase",
    )
    taken = await do(hub, "ccpcr-shelter", ACCEPT, {"id": again["id"]}, "acceptCaseTransfer")
    assert taken["status"] == "ACCEPTED"
    case = await do(hub, "ccpcr-shelter", CASE, {"id": case_id}, "case")
    assert case["ownerId"] == org["ccpcr-shelter"] and case["version"] == 2

    # History: both transfers, oldest first; ADHOC (now a party, not named by consent) sees
    # that they happened but not why.
    history = await do(hub, "adhoc", HISTORY, {"id": case_id}, "custodyHistory")
    assert [h["status"] for h in history] == ["DECLINED", "ACCEPTED"]
    assert all(h["reason"] is None for h in history)
    assert {"field": "reason", "category": "HEALTH", "reason": "RECIPIENT_NOT_COVERED"} in (
        history[1]["withheld"]
    )
    owner_view = await do(hub, "ccpcr-shelter", HISTORY, {"id": case_id}, "custodyHistory")
    assert [h["reason"] for h in owner_view] == [reason, reason]
    assert owner_view[0]["answerReason"] == no
    # Sealed at rest: the rows hold envelopes only.
    rows = await fetch(hub, "SELECT * FROM case_transfers WHERE case_id = :c", c=case_id)
    assert len(rows) == 2 and MARKER not in str(rows)


async def test_the_offerer_cancels_before_an_answer(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    await consent_to(hub, case_id, "adhoc", ["ccpcr-shelter"], ["SERVICE_REFERRAL"], ["HEALTH"])
    offered = await do(
        hub,
        "adhoc",
        TRANSFER,
        transfer_input(hub, case_id, "ccpcr-shelter", planted("x"), "custody-cancel-1"),
        "transferCase",
    )
    cancelled = await do(hub, "adhoc", CANCEL, {"id": offered["id"], "v": 1}, "cancelCaseTransfer")
    assert cancelled["status"] == "CANCELLED" and cancelled["answerReason"] is None
    late = await hub.gql("ccpcr-shelter", ACCEPT, {"id": offered["id"]})
    assert late.codes == ["INVALID_TRANSITION"], late.body
    assert "already been cancelled" in late.errors[0]["message"]
    events = await fetch(
        hub,
        "SELECT type FROM events WHERE subject_id = :c AND type LIKE 'CASE_TRANSFER_%' ORDER BY id",
        c=case_id,
    )
    assert [e[0] for e in events] == ["CASE_TRANSFER_OFFERED", "CASE_TRANSFER_CANCELLED"]


async def test_both_sides_hear_of_the_offer_and_its_answer_live(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id = await open_case(hub)
    await consent_to(hub, case_id, "adhoc", ["ccpcr-shelter"], ["SERVICE_REFERRAL"], ["HEALTH"])
    since = str(await head(hub))
    async with (
        partner_socket(hub, "ccpcr-shelter") as shelter,
        partner_socket(hub, "adhoc") as owner,
    ):
        for ws in (shelter, owner):
            await start(ws, "1", variables={"after": since, "topics": ["CASE"]})
        offered = await do(
            hub,
            "adhoc",
            TRANSFER,
            transfer_input(hub, case_id, "ccpcr-shelter", planted("x"), "custody-live-1"),
            "transferCase",
        )
        await do(
            hub,
            "ccpcr-shelter",
            DECLINE,
            {"id": offered["id"], "reason": planted("full")},
            "declineCaseTransfer",
        )
        for ws in (shelter, owner):
            seen = [e for e in await next_events(ws, 2) if e["type"].startswith("CASE_TRANSFER_")]
            assert [e["type"] for e in seen] == ["CASE_TRANSFER_OFFERED", "CASE_TRANSFER_DECLINED"]
            payload = decoded(seen[1]["payload"])
            assert payload["transferId"] == offered["id"] and payload["status"] == "DECLINED"
            assert (payload["from"], payload["to"]) == (org["adhoc"], org["ccpcr-shelter"])
    # Nobody else hears of it.
    polled = await do(
        hub, "ngo-malaysia", POLL, {"after": since, "first": 100, "topics": ["CASE"]}, "events"
    )
    assert polled["events"] == []
