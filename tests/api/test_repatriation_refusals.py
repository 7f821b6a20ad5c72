"""What the hub refuses about repatriation requests: each a documented error code, and
nothing written (no request, history row, case party, event or audit entry)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.repatriation_support import (
    ACK,
    COST,
    HANDOVER,
    PLAN,
    REQUEST,
    UPDATE,
    VIEW,
    a_request,
    counts,
    do,
    fetch,
    give_consent,
    open_case,
    orgs,
    request_input,
)
from tests.network import GraphQLResult, RunningHub

REJECT = """
mutation($id: ID!, $reason: String!, $v: Int) {
  rejectRepatriation(id: $id, reason: $reason, expectedVersion: $v) { id status version }
}"""
CANCEL = """
mutation($id: ID!, $reason: String!) {
  cancelRepatriation(id: $id, reason: $reason) { id status version }
}"""
ACK_AT = """
mutation($id: ID!, $v: Int) {
  acknowledgeRepatriation(id: $id, expectedVersion: $v) { id status version }
}"""
SUSPEND = """
mutation($id: ID!, $reason: String!) { suspendOrganization(id: $id, reason: $reason) { status } }"""


async def refused(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], code: str
) -> GraphQLResult:
    """``who`` is refused with ``code`` and the database is exactly as it was."""
    before = await counts(hub)
    result = await hub.gql(who, query, variables)
    assert result.codes == [code], (variables, result.errors)
    assert await counts(hub) == before, variables
    return result


async def test_a_request_to_the_wrong_embassy_or_reception_is_refused(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id = await open_case(hub)
    # Consent covers everyone named below, so only the rule under test can refuse.
    await give_consent(
        hub,
        case_id,
        ["embassy-bangkok", "embassy-kuala-lumpur", "embassy-beijing", "ngo-thailand", "mosavy"],
    )

    def asking(**overrides: Any) -> dict[str, Any]:
        return {"input": request_input(hub, case_id, "refuse-0001", **overrides)}

    # The embassy in Kuala Lumpur does not cover a survivor detained in Thailand.
    await refused(
        hub, "adhoc", REQUEST, asking(embassyId=org["embassy-kuala-lumpur"]), "BAD_USER_INPUT"
    )
    # An NGO in Thailand is not an embassy; neither is the ministry.
    await refused(hub, "adhoc", REQUEST, asking(embassyId=org["ngo-thailand"]), "BAD_USER_INPUT")
    await refused(hub, "adhoc", REQUEST, asking(embassyId=org["mosavy"]), "BAD_USER_INPUT")
    # An embassy cannot be the organisation at home that takes the survivor over.
    await refused(
        hub,
        "adhoc",
        REQUEST,
        asking(receivingOrganizationId=org["embassy-beijing"]),
        "BAD_USER_INPUT",
    )
    await refused(
        hub,
        "adhoc",
        REQUEST,
        asking(receivingOrganizationId=org["embassy-bangkok"]),
        "BAD_USER_INPUT",
    )
    # Nonsense about the survivor's papers, country or deadline.
    await refused(
        hub, "adhoc", REQUEST, asking(documentsHeld=["NONE", "PASSPORT"]), "BAD_USER_INPUT"
    )
    await refused(hub, "adhoc", REQUEST, asking(documentsHeld=[]), "BAD_USER_INPUT")
    await refused(hub, "adhoc", REQUEST, asking(currentCountry="XX"), "BAD_USER_INPUT")
    await refused(
        hub, "adhoc", REQUEST, asking(acknowledgeBy="2020-01-01T00:00:00+00:00"), "BAD_USER_INPUT"
    )
    await refused(hub, "adhoc", REQUEST, asking(idempotencyKey="short"), "BAD_USER_INPUT")

    # A suspended embassy takes no requests; the same request goes through once reinstated.
    suspended = await hub.gql(
        "secretariat", SUSPEND, {"id": org["embassy-bangkok"], "reason": "credentials under review"}
    )
    assert suspended.data["suspendOrganization"]["status"] == "SUSPENDED"
    await refused(hub, "adhoc", REQUEST, asking(), "BAD_USER_INPUT")
    reinstated = await hub.gql(
        "secretariat",
        'mutation($id: ID!) { reinstateOrganization(id: $id, reason: "review done") { status } }',
        {"id": org["embassy-bangkok"]},
    )
    assert reinstated.data["reinstateOrganization"]["status"] == "ACTIVE"
    sent = await hub.gql("adhoc", REQUEST, asking())
    assert sent.data["requestRepatriation"]["status"] == "SUBMITTED", sent.errors


async def test_without_the_survivors_consent_for_both_there_is_no_request(
    hub: RunningHub,
) -> None:
    for recipients, purposes in [
        (["mosavy"], ("REPATRIATION",)),  # the embassy is not covered
        (["embassy-bangkok"], ("REPATRIATION",)),  # the reception organisation is not
        (["embassy-bangkok", "mosavy"], ("SERVICE_REFERRAL", "FOLLOW_UP")),  # other purposes
    ]:
        case_id = await open_case(hub)
        await give_consent(hub, case_id, recipients, purposes=purposes)
        await refused(
            hub,
            "adhoc",
            REQUEST,
            {"input": request_input(hub, case_id, f"no-consent-{len(recipients)}")},
            "CONSENT_REQUIRED",
        )


async def test_only_the_owner_of_the_case_asks_and_only_with_the_scope(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    asking = {"input": request_input(hub, case_id, "not-mine-001")}
    # The ministry is a party to ADHOC's case (named in the consent) but does not own it.
    await refused(hub, "mosavy", REQUEST, asking, "FORBIDDEN")
    # The NGO in Malaysia is no party: for it the case does not exist.
    await refused(hub, "ngo-malaysia", REQUEST, asking, "NOT_FOUND")
    # A shelter has no repatriation:write scope.
    shelter_case = await open_case(hub, owner="ccpcr-shelter")
    await refused(
        hub,
        "ccpcr-shelter",
        REQUEST,
        {"input": request_input(hub, shelter_case, "shelter-0001")},
        "FORBIDDEN",
    )


async def test_each_party_may_take_only_its_own_steps_in_order(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "steps-00001")
    # Another embassy cannot even see it; a shelter may not write; the requester may not
    # acknowledge its own request; nor may the embassy cancel it.
    await refused(hub, "embassy-beijing", ACK, {"id": rid}, "NOT_FOUND")
    await refused(hub, "embassy-beijing", VIEW, {"id": rid}, "NOT_FOUND")
    await refused(hub, "ccpcr-shelter", ACK, {"id": rid}, "FORBIDDEN")
    await refused(hub, "adhoc", ACK, {"id": rid}, "INVALID_TRANSITION")
    await refused(
        hub, "embassy-bangkok", CANCEL, {"id": rid, "reason": "not ours"}, "INVALID_TRANSITION"
    )
    await refused(
        hub, "mosavy", UPDATE, {"id": rid, "status": "ACKNOWLEDGED"}, "INVALID_TRANSITION"
    )
    for reason in ("", "   "):
        await refused(
            hub, "embassy-bangkok", REJECT, {"id": rid, "reason": reason}, "BAD_USER_INPUT"
        )
    await refused(hub, "embassy-bangkok", ACK_AT, {"id": rid, "v": 7}, "CONFLICT")
    await refused(
        hub, "embassy-bangkok", UPDATE, {"id": rid, "status": "SUBMITTED"}, "BAD_USER_INPUT"
    )

    await do(hub, "embassy-bangkok", ACK_AT, {"id": rid, "v": 1}, "acknowledgeRepatriation")
    for skipped in ("DOCUMENTS_ISSUED", "TRAVEL_ARRANGED", "RETURNED", "HANDED_OVER", "CLOSED"):
        await refused(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": skipped}, "INVALID_TRANSITION"
        )
    await refused(
        hub, "embassy-bangkok", UPDATE, {"id": rid, "status": "VERIFYING", "v": 1}, "CONFLICT"
    )

    for status in ("VERIFYING", "DOCUMENTS_ISSUED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    # Once documents are issued, the embassy can no longer reject.
    await refused(
        hub,
        "embassy-bangkok",
        REJECT,
        {"id": rid, "reason": "identity doubtful"},
        "INVALID_TRANSITION",
    )
    await refused(
        hub,
        "mosavy",
        PLAN,
        {"id": rid, "input": {"date": "2031-01-01", "route": "by bus"}},
        "FORBIDDEN",
    )

    for status in ("TRAVEL_ARRANGED", "RETURNED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    # Only the ministry, the receiving organisation, confirms the hand-over.
    await refused(hub, "embassy-bangkok", HANDOVER, {"id": rid}, "INVALID_TRANSITION")
    await refused(hub, "adhoc", HANDOVER, {"id": rid}, "INVALID_TRANSITION")
    await refused(
        hub, "embassy-bangkok", UPDATE, {"id": rid, "status": "HANDED_OVER"}, "INVALID_TRANSITION"
    )
    await refused(hub, "adhoc", CANCEL, {"id": rid, "reason": "too late"}, "INVALID_TRANSITION")
    handed = await do(hub, "mosavy", HANDOVER, {"id": rid}, "confirmHandover")
    assert handed["status"] == "HANDED_OVER"


async def test_costs_are_positive_decimals_in_an_iso_4217_currency(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "costs-00001")
    for amount, currency in [
        ("-5.00", "USD"),
        ("0", "USD"),
        ("abc", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("12.50", "XYZ"),
        ("12.50", "US"),
        ("12.50", "dollars"),
        ("12.50", ""),
    ]:
        await refused(
            hub,
            "embassy-bangkok",
            COST,
            {"id": rid, "input": {"item": "AIR_TICKET", "amount": amount, "currency": currency}},
            "BAD_USER_INPUT",
        )
    await refused(
        hub,
        "embassy-beijing",
        COST,
        {"id": rid, "input": {"item": "OTHER", "amount": "10", "currency": "USD"}},
        "NOT_FOUND",
    )
    assert await hub.scalar("SELECT count(*) FROM funded_costs") == 0


async def test_a_retried_request_is_the_same_request_and_a_reused_key_conflicts(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub)
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    asking = {"input": request_input(hub, case_id, "retry-key-0001")}
    first = await do(hub, "adhoc", REQUEST, asking, "requestRepatriation")
    before = await counts(hub)
    again = await do(hub, "adhoc", REQUEST, asking, "requestRepatriation")
    assert again == first
    assert await counts(hub) == before
    assert (
        await hub.scalar(
            "SELECT count(*) FROM repatriation_requests WHERE idempotency_key = 'retry-key-0001'"
        )
        == 1
    )
    other = {"input": request_input(hub, case_id, "retry-key-0001", situation="SHELTER")}
    await refused(hub, "adhoc", REQUEST, other, "CONFLICT")

    # Retries that cross on the wire still make one request.
    token = await hub.token("adhoc")
    crossing = {"input": request_input(hub, case_id, "retry-key-0002")}
    results = await asyncio.gather(
        *(hub.gql(None, REQUEST, crossing, token=token) for _ in range(8))
    )
    assert [r.errors for r in results] == [[]] * 8
    assert len({r.data["requestRepatriation"]["id"] for r in results}) == 1
    assert (
        await hub.scalar(
            "SELECT count(*) FROM repatriation_requests WHERE idempotency_key = 'retry-key-0002'"
        )
        == 1
    )


async def test_of_twenty_simultaneous_acknowledgements_exactly_one_wins(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "race-000001")
    token = await hub.token("embassy-bangkok")
    results = await asyncio.gather(
        *(hub.gql(None, ACK, {"id": rid}, token=token) for _ in range(20))
    )
    winners = [r for r in results if not r.errors]
    assert len(winners) == 1
    assert winners[0].data["acknowledgeRepatriation"]["version"] == 2
    losers = {c for r in results if r.errors for c in r.codes}
    assert losers <= {"INVALID_TRANSITION", "CONFLICT"}, losers
    assert (
        await hub.scalar(
            "SELECT count(*) FROM repatriation_changes WHERE request_id = :rid AND action = "
            "'ACKNOWLEDGE'",
            rid=rid,
        )
        == 1
    )
    assert (
        await hub.scalar(
            "SELECT count(*) FROM events WHERE subject_id = :rid AND type = "
            "'REPATRIATION_ACKNOWLEDGED'",
            rid=rid,
        )
        == 1
    )
    assert (
        await hub.scalar(
            "SELECT count(*) FROM audit WHERE subject_id = :rid AND action = "
            "'repatriation.acknowledge'",
            rid=rid,
        )
        == 1
    )


async def test_notes_and_reasons_never_reach_events_or_the_audit_trail(hub: RunningHub) -> None:
    secrets = {
        "notes": "SECRET-NOTES survivor beaten by employer in Rayong",
        "hold": "SECRET-HOLD waiting for the mother's birth record",
        "reject": "SECRET-REJECT fingerprints match a Thai national",
        "cancel": "SECRET-CANCEL survivor wishes to stay and testify",
        "handover": "SECRET-HANDOVER handed to her uncle at Poipet",
    }
    _, rejected = await a_request(hub, "secret-0001", notes=secrets["notes"])
    await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": rejected, "status": "ON_HOLD", "note": secrets["hold"]},
        "updateRepatriation",
    )
    await do(hub, "adhoc", UPDATE, {"id": rejected, "status": "SUBMITTED"}, "updateRepatriation")
    gone = await do(
        hub,
        "embassy-bangkok",
        REJECT,
        {"id": rejected, "reason": secrets["reject"]},
        "rejectRepatriation",
    )
    assert gone["status"] == "REJECTED"

    _, cancelled = await a_request(hub, "secret-0002")
    await do(
        hub, "adhoc", CANCEL, {"id": cancelled, "reason": secrets["cancel"]}, "cancelRepatriation"
    )

    _, handed = await a_request(hub, "secret-0003")
    await do(hub, "embassy-bangkok", ACK, {"id": handed}, "acknowledgeRepatriation")
    for status in ("VERIFYING", "DOCUMENTS_ISSUED", "TRAVEL_ARRANGED", "RETURNED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": handed, "status": status}, "updateRepatriation"
        )
    await do(
        hub, "mosavy", HANDOVER, {"id": handed, "note": secrets["handover"]}, "confirmHandover"
    )

    # The parties read them back; the outbox and the audit trail never hold them.
    seen = await do(hub, "adhoc", VIEW, {"id": rejected}, "repatriationRequest")
    assert [h["note"] for h in seen["history"] if h["note"]] == [
        secrets["hold"],
        secrets["reject"],
    ]
    texts = [row[0] for row in await fetch(hub, "SELECT CAST(payload AS TEXT) FROM events")]
    texts += [row[0] for row in await fetch(hub, "SELECT CAST(detail AS TEXT) FROM audit")]
    assert len(texts) > 20
    assert not [t for t in texts if "SECRET-" in t]
    # Nor does the database keep them in the clear.
    for table, column in [
        ("repatriation_requests", "notes_sealed"),
        ("repatriation_changes", "note_sealed"),
    ]:
        stored = [row[0] for row in await fetch(hub, f"SELECT {column} FROM {table}")]
        assert not [s for s in stored if s and "SECRET-" in s]
