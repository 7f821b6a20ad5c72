"""Referrals that must not happen, and steps out of turn: each a documented error, and
nothing written (referrals, their history, case parties, events, audit)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.referral_steps import (
    SENDER,
    act,
    counts,
    moved,
    read_referral,
    reason,
    record_consent,
    rows,
    send,
    send_input,
    sent,
)
from tests.api.test_cases_flow import open_case
from tests.api.test_referral_flow import SEND
from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit pending") { status } }'
PUBLISH = """
mutation($input: PublishServiceInput!) { publishService(input: $input) { capacityStatus } }"""
SECRET = planted("broker is the survivor's uncle in Koh Kong")


async def legal_aid_case(hub: RunningHub) -> str:
    """A Koh Kong case whose survivor consented to legal aid by ADHOC."""
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    return case_id


async def refused_without_writes(hub: RunningHub, code: str, attempt: Any) -> GraphQLResult:
    before = await counts(hub)
    result: GraphQLResult = await attempt
    assert result.codes == [code], result.body
    assert await counts(hub) == before
    return result


async def test_a_transit_centre_cannot_refer_to_itself_to_a_suspended_or_unknown_member(
    hub: RunningHub,
) -> None:
    case_id = await legal_aid_case(hub)
    # To itself (it offers emergency support, so only "itself" is wrong).
    await refused_without_writes(
        hub, "BAD_USER_INPUT", send(hub, case_id, SENDER, "kk-self-0001", ["EMERGENCY_SUPPORT"])
    )
    # To an organisation id nobody registered.
    await refused_without_writes(
        hub, "BAD_USER_INPUT", send(hub, case_id, str(uuid.uuid4()), "kk-unknown-01")
    )
    # To ADHOC once the secretariat has suspended it.
    adhoc = hub.members["adhoc"].organization_id
    suspended = await hub.gql("secretariat", SUSPEND, {"id": adhoc})
    assert suspended.data["suspendOrganization"]["status"] == "SUSPENDED", suspended.body
    await refused_without_writes(hub, "BAD_USER_INPUT", send(hub, case_id, "adhoc", "kk-susp-0001"))


async def test_a_referral_must_ask_for_a_service_the_receiver_offers_and_has_room_for(
    hub: RunningHub,
) -> None:
    case_id = await legal_aid_case(hub)
    # ADHOC offers legal aid, not shelter.
    await refused_without_writes(
        hub, "BAD_USER_INPUT", send(hub, case_id, "adhoc", "kk-svc-00001", ["LEGAL_AID", "SHELTER"])
    )
    # ADHOC stops taking legal-aid referrals.
    closed = await hub.gql(
        "adhoc",
        PUBLISH,
        {
            "input": {
                "organizationId": hub.members["adhoc"].organization_id,
                "category": "LEGAL_AID",
                "areasServed": ["KH"],
                "capacityStatus": "NOT_ACCEPTING",
            }
        },
    )
    assert closed.data["publishService"]["capacityStatus"] == "NOT_ACCEPTING", closed.body
    await refused_without_writes(hub, "BAD_USER_INPUT", send(hub, case_id, "adhoc", "kk-full-0001"))


async def test_only_the_owner_refers_a_case_and_only_with_consent(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    # Without consent for ADHOC.
    await refused_without_writes(
        hub, "CONSENT_REQUIRED", send(hub, case_id, "adhoc", "kk-noc-0001")
    )
    # Consent for the shelter (service referral) does not cover legal aid at ADHOC either.
    await record_consent(hub, case_id, ["SERVICE_REFERRAL"], members=("ccpcr-shelter",))
    await refused_without_writes(
        hub, "CONSENT_REQUIRED", send(hub, case_id, "adhoc", "kk-noc-0002")
    )
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    # ADHOC is party to the case (named in the consent) but does not own it.
    await refused_without_writes(
        hub,
        "FORBIDDEN",
        send(hub, case_id, "ccpcr-shelter", "adhoc-0001", ["SHELTER"], sender="adhoc"),
    )
    # Svay Rieng is no party at all: for it the case does not exist.
    await refused_without_writes(
        hub, "NOT_FOUND", send(hub, case_id, "adhoc", "sr-0000001", sender="ccpcr-svay-rieng")
    )


async def test_a_retried_send_returns_the_same_referral_and_a_reused_key_is_a_conflict(
    hub: RunningHub,
) -> None:
    case_id = await legal_aid_case(hub)
    first = await sent(hub, case_id, "adhoc", "kk-retry-0001")
    before = await counts(hub)
    again = await send(hub, case_id, "adhoc", "kk-retry-0001")
    assert again.data["sendReferral"]["id"] == first["id"], again.body
    assert await counts(hub) == before
    assert (
        await hub.scalar("SELECT COUNT(*) FROM referrals WHERE idempotency_key = 'kk-retry-0001'")
        == 1
    )
    await refused_without_writes(
        hub, "CONFLICT", send(hub, case_id, "adhoc", "kk-retry-0001", urgency="EMERGENCY")
    )
    await refused_without_writes(
        hub, "CONFLICT", send(hub, case_id, "adhoc", "kk-retry-0001", reason="another reason")
    )


async def test_steps_out_of_turn_by_the_wrong_party_or_a_stranger_are_refused(
    hub: RunningHub,
) -> None:
    case_id = await legal_aid_case(hub)
    rid = (await sent(hub, case_id, "adhoc", "kk-turn-0001"))["id"]
    # ADHOC cannot start or accept what it has not acknowledged.
    for mutation in ("startReferral", "acceptReferral"):
        await refused_without_writes(hub, "INVALID_TRANSITION", act(hub, "adhoc", mutation, rid))
    # The sender cannot acknowledge or accept its own referral.
    for mutation in ("acknowledgeReferral", "acceptReferral"):
        await refused_without_writes(hub, "INVALID_TRANSITION", act(hub, SENDER, mutation, rid))
    # The receiver cannot cancel it.
    await refused_without_writes(
        hub, "INVALID_TRANSITION", act(hub, "adhoc", "cancelReferral", rid, reason("not ours"))
    )
    # A third organisation, even one that holds every referral scope, sees nothing.
    await refused_without_writes(
        hub, "NOT_FOUND", act(hub, "ccpcr-shelter", "acknowledgeReferral", rid)
    )
    await refused_without_writes(
        hub, "NOT_FOUND", act(hub, "ccpcr-shelter", "cancelReferral", rid, reason("mine now"))
    )
    assert (await read_referral(hub, "ccpcr-shelter", rid)).codes == ["NOT_FOUND"]
    # A stale version is a conflict, even for the right party at the right moment.
    await moved(hub, "adhoc", "acknowledgeReferral", rid, ", expectedVersion: 1")
    await refused_without_writes(
        hub, "CONFLICT", act(hub, "adhoc", "acceptReferral", rid, ", expectedVersion: 1")
    )
    assert (await read_referral(hub, SENDER, rid)).data["referral"]["status"] == "ACKNOWLEDGED"


async def test_declining_holding_failing_and_cancelling_need_a_real_reason(
    hub: RunningHub,
) -> None:
    case_id = await legal_aid_case(hub)
    rid = (await sent(hub, case_id, "adhoc", "kk-why-00001"))["id"]
    await moved(hub, "adhoc", "acknowledgeReferral", rid)
    for who, mutation in [
        ("adhoc", "declineReferral"),
        ("adhoc", "holdReferral"),
        (SENDER, "cancelReferral"),
    ]:
        for blank in ("", "   ", "\n\t"):
            await refused_without_writes(
                hub, "BAD_USER_INPUT", act(hub, who, mutation, rid, reason(blank))
            )
        # Leaving the argument out is refused by the schema, with the same code.
        await refused_without_writes(hub, "BAD_USER_INPUT", act(hub, who, mutation, rid))
    await moved(hub, "adhoc", "acceptReferral", rid)
    await refused_without_writes(
        hub, "BAD_USER_INPUT", act(hub, "adhoc", "failReferral", rid, reason("  "))
    )
    await moved(hub, "adhoc", "startReferral", rid)
    # Completing needs the services delivered, and an outcome note of at most 4000 characters.
    await refused_without_writes(
        hub,
        "BAD_USER_INPUT",
        act(hub, "adhoc", "completeReferral", rid, ", outcome: {servicesDelivered: []}"),
    )
    long_note = f', outcome: {{servicesDelivered: [LEGAL_AID], note: "{"x" * 4001}"}}'
    await refused_without_writes(
        hub, "BAD_USER_INPUT", act(hub, "adhoc", "completeReferral", rid, long_note)
    )
    assert (await read_referral(hub, SENDER, rid)).data["referral"]["status"] == "IN_PROGRESS"


async def test_oversize_notes_and_a_read_only_token_are_refused(hub: RunningHub) -> None:
    case_id = await legal_aid_case(hub)
    await refused_without_writes(
        hub, "BAD_USER_INPUT", send(hub, case_id, "adhoc", "kk-notes-001", notes="n" * 4001)
    )
    # Exactly 4000 characters is fine.
    kept = (
        await sent(hub, case_id, "adhoc", "kk-notes-002", notes="n" * 4000, notesCategory="LEGAL")
    )["id"]
    assert (await read_referral(hub, "adhoc", kept)).data["referral"]["notes"] == "n" * 4000

    token = (await hub.fetch_token(SENDER, scope="referrals:read"))["access_token"]
    variables = send_input(hub, case_id, "adhoc", "kk-ro-000001")
    await refused_without_writes(hub, "FORBIDDEN", hub.gql(None, SEND, variables, token=token))
    rid = (await sent(hub, case_id, "adhoc", "kk-ro-000002"))["id"]
    adhoc_read = (await hub.fetch_token("adhoc", scope="referrals:read"))["access_token"]
    await refused_without_writes(
        hub, "FORBIDDEN", act(hub, None, "acknowledgeReferral", rid, token=adhoc_read)
    )
    # Reading is what that token is for.
    inbox = await hub.gql(
        None, "{ referrals(box: INBOX) { edges { node { id } } } }", token=adhoc_read
    )
    assert not inbox.errors, inbox.errors
    assert rid in [e["node"]["id"] for e in inbox.data["referrals"]["edges"]]


async def test_a_page_needs_a_real_cursor_and_a_size_from_1_to_100(hub: RunningHub) -> None:
    query = "query($first: Int!, $after: String) { referrals(box: INBOX, first: $first, after: $after) { edges { cursor } } }"
    for first, after in [
        (0, None),
        (101, None),
        (-1, None),
        (10, "not-a-cursor"),
        (10, "bm90aGluZw=="),
    ]:
        result = await hub.gql("adhoc", query, {"first": first, "after": after})
        assert result.codes == ["BAD_USER_INPUT"], (first, after, result.body)
    for first in (1, 100):
        assert not (await hub.gql("adhoc", query, {"first": first})).errors


async def test_reasons_and_notes_stay_sealed_and_out_of_events_and_audit(hub: RunningHub) -> None:
    case_id = await legal_aid_case(hub)
    rid = (
        await sent(
            hub, case_id, "adhoc", "kk-seal-0001", reason=f"R1 {SECRET}", notes=f"N1 {SECRET}"
        )
    )["id"]
    await moved(hub, "adhoc", "acknowledgeReferral", rid)
    await moved(hub, "adhoc", "holdReferral", rid, reason(f"H1 {SECRET}"))
    await moved(hub, "adhoc", "acceptReferral", rid)
    await moved(hub, "adhoc", "startReferral", rid)
    await moved(
        hub,
        "adhoc",
        "completeReferral",
        rid,
        f', outcome: {{servicesDelivered: [LEGAL_AID], note: "O1 {SECRET}"}}',
    )
    rid2 = (await sent(hub, case_id, "adhoc", "kk-seal-0002"))["id"]
    await moved(hub, SENDER, "cancelReferral", rid2, reason(f"C1 {SECRET}"))

    # The parties read every text back,
    seen = (await read_referral(hub, SENDER, rid)).data["referral"]
    assert seen["reason"] == f"R1 {SECRET}" and seen["notes"] == f"N1 {SECRET}"
    assert seen["history"][2]["reason"] == f"H1 {SECRET}"
    # but at rest, in the outbox and in the audit trail there is none of it.
    stored = [str(r) for r in await rows(hub, "SELECT * FROM referrals")]
    stored += [str(r) for r in await rows(hub, "SELECT * FROM referral_changes")]
    stored += [str(r[0]) for r in await rows(hub, "SELECT payload FROM events")]
    stored += [str(r[0]) for r in await rows(hub, "SELECT detail FROM audit")]
    assert stored and not [s for s in stored if "uncle" in s or SECRET in s]
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM referrals WHERE reason_sealed IS NOT NULL AND notes_sealed IS NOT NULL "
            "AND outcome_note_sealed IS NOT NULL"
        )
        == 1
    )
