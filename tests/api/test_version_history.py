"""Every version of a referral or a repatriation request has its history entry, and a step
out of turn is refused in plain words with the steps the caller may take now."""

from __future__ import annotations

from typing import Any

from tests.api.referral_steps import SENDER, act, moved, read_referral, reason, record_consent
from tests.api.referral_steps import sent as sent_referral
from tests.api.repatriation_support import (
    HANDOVER,
    PLAN,
    UPDATE,
    VIEW,
    a_request,
    do,
)
from tests.api.test_cases_flow import open_case
from tests.network import RunningHub

HOLD = """
mutation($id: ID!, $reason: String!) { holdRepatriation: updateRepatriation(
  id: $id, status: ON_HOLD, note: $reason) { id status version } }"""
CANCEL = """
mutation($id: ID!, $reason: String!) {
  cancelRepatriation(id: $id, reason: $reason) { id status version } }"""
REJECT = """
mutation($id: ID!, $reason: String!) {
  rejectRepatriation(id: $id, reason: $reason) { id status version } }"""
ACK = "mutation($id: ID!) { acknowledgeRepatriation(id: $id) { id status version } }"


def contiguous(item: dict[str, Any]) -> list[int]:
    """The versions in an object's history, insisting they run 1, 2, … up to its version."""
    versions = [h["version"] for h in item["history"]]
    assert versions == list(range(1, item["version"] + 1)), versions
    return versions


async def repatriation(hub: RunningHub, rid: str) -> dict[str, Any]:
    return await do(hub, "adhoc", VIEW, {"id": rid}, "repatriationRequest")


async def plan(hub: RunningHub, who: str, rid: str, route: str) -> None:
    await do(
        hub,
        who,
        PLAN,
        {"id": rid, "input": {"date": "2031-03-02", "route": route}},
        "recordTravelPlan",
    )


async def test_every_repatriation_step_and_travel_plan_writes_one_history_entry(
    hub: RunningHub,
) -> None:
    _, rid = await a_request(hub, "history-rep-01")
    await do(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation")
    await plan(hub, "adhoc", rid, "Bangkok to Poipet by bus")  # the requester plans early
    await do(hub, "embassy-bangkok", HOLD, {"id": rid, "reason": "waiting"}, "holdRepatriation")
    await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": rid, "status": "ACKNOWLEDGED"},
        "updateRepatriation",
    )  # back to where it was held: a resume
    for status in ("VERIFYING", "DOCUMENTS_ISSUED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    await plan(hub, "embassy-bangkok", rid, "Bangkok to Phnom Penh by air")
    for status in ("TRAVEL_ARRANGED", "RETURNED"):
        await do(
            hub, "embassy-bangkok", UPDATE, {"id": rid, "status": status}, "updateRepatriation"
        )
    await do(hub, "mosavy", HANDOVER, {"id": rid}, "confirmHandover")
    await do(hub, "adhoc", UPDATE, {"id": rid, "status": "CLOSED"}, "updateRepatriation")

    seen = await repatriation(hub, rid)
    assert contiguous(seen) == list(range(1, 13))
    plans = [h for h in seen["history"] if h["action"] == "RECORD_TRAVEL_PLAN"]
    assert [(h["version"], h["fromStatus"], h["toStatus"]) for h in plans] == [
        (3, "ACKNOWLEDGED", "ACKNOWLEDGED"),
        (8, "DOCUMENTS_ISSUED", "DOCUMENTS_ISSUED"),
    ]
    embassy = hub.members["embassy-bangkok"].organization_id
    assert plans[1]["by"] == embassy and plans[1]["note"] is None

    # Rejected and cancelled requests end contiguous too.
    _, rejected = await a_request(hub, "history-rep-02")
    await do(hub, "embassy-bangkok", REJECT, {"id": rejected, "reason": "no"}, "rejectRepatriation")
    assert contiguous(await repatriation(hub, rejected)) == [1, 2]
    _, cancelled = await a_request(hub, "history-rep-03")
    await plan(hub, "adhoc", cancelled, "by road")
    await do(hub, "adhoc", CANCEL, {"id": cancelled, "reason": "gone"}, "cancelRepatriation")
    assert contiguous(await repatriation(hub, cancelled)) == [1, 2, 3]


async def test_every_referral_step_writes_one_history_entry(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    paths: dict[str, list[tuple[str, str, str]]] = {
        "history-ref-01": [
            ("adhoc", "acknowledgeReferral", ""),
            ("adhoc", "holdReferral", reason("no lawyer free")),
            ("adhoc", "acceptReferral", ""),
            ("adhoc", "startReferral", ""),
            ("adhoc", "completeReferral", ", outcome: {servicesDelivered: [LEGAL_AID]}"),
        ],
        "history-ref-02": [
            ("adhoc", "acknowledgeReferral", ""),
            ("adhoc", "declineReferral", reason("conflict of interest")),
        ],
        "history-ref-03": [
            ("adhoc", "acknowledgeReferral", ""),
            ("adhoc", "acceptReferral", ""),
            ("adhoc", "failReferral", reason("survivor moved")),
        ],
        "history-ref-04": [(SENDER, "cancelReferral", reason("sent by mistake"))],
    }
    for key, steps in paths.items():
        rid = (await sent_referral(hub, case_id, "adhoc", key))["id"]
        for who, mutation, args in steps:
            await moved(hub, who, mutation, rid, args)
        seen = await read_referral(hub, SENDER, rid)
        assert not seen.errors, seen.errors
        assert contiguous(seen.data["referral"]) == list(range(1, len(steps) + 2)), key


async def test_a_step_out_of_turn_says_what_happened_and_what_is_allowed_now(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    rid = (await sent_referral(hub, case_id, "adhoc", "words-ref-01"))["id"]

    wrong_side = await act(hub, SENDER, "acknowledgeReferral", rid)
    assert wrong_side.codes == ["INVALID_TRANSITION"]
    error = wrong_side.errors[0]
    assert error["message"] == (
        "Cannot acknowledge: only the receiving organisation of a referral may do that; "
        "allowed now: cancel"
    )
    assert error["extensions"]["allowedActions"] == ["CANCEL"]

    await moved(hub, "adhoc", "acknowledgeReferral", rid)
    too_early = await act(hub, "adhoc", "startReferral", rid)
    assert too_early.errors[0]["message"] == (
        "Cannot start: this referral has been acknowledged and awaits an answer; "
        "allowed now: accept, decline, hold"
    )
    assert too_early.errors[0]["extensions"] == {
        "code": "INVALID_TRANSITION",
        "allowedActions": ["ACCEPT", "DECLINE", "HOLD"],
    }

    _, request_id = await a_request(hub, "words-rep-01")
    await do(hub, "embassy-bangkok", ACK, {"id": request_id}, "acknowledgeRepatriation")
    for status in ("VERIFYING", "DOCUMENTS_ISSUED", "TRAVEL_ARRANGED", "RETURNED"):
        await do(
            hub,
            "embassy-bangkok",
            UPDATE,
            {"id": request_id, "status": status},
            "updateRepatriation",
        )
    await do(hub, "mosavy", HANDOVER, {"id": request_id}, "confirmHandover")
    again = await hub.gql("mosavy", HANDOVER, {"id": request_id})
    assert again.codes == ["INVALID_TRANSITION"]
    assert again.errors[0]["message"] == (
        "Cannot confirm handover: this repatriation request has already been handed over; "
        "allowed now: none"
    )
    assert again.errors[0]["extensions"]["allowedActions"] == []
    # The embassy may still close it, and is told so.
    embassy = await hub.gql("embassy-bangkok", HANDOVER, {"id": request_id})
    assert embassy.errors[0]["extensions"]["allowedActions"] == ["CLOSE"]
    assert embassy.errors[0]["message"].endswith("allowed now: close")

    await do(hub, "adhoc", UPDATE, {"id": request_id, "status": "CLOSED"}, "updateRepatriation")
    late_plan = await hub.gql(
        "adhoc", PLAN, {"id": request_id, "input": {"date": "2031-03-02", "route": "by air"}}
    )
    assert late_plan.codes == ["INVALID_TRANSITION"]
    assert late_plan.errors[0]["message"] == (
        "Cannot record a travel plan: this repatriation request has already been closed; "
        "allowed now: none"
    )
    assert contiguous(await repatriation(hub, request_id)) == list(range(1, 9))
