"""The demo story of issue 5: ADHOC asks the embassy in Bangkok to bring home a survivor held
in immigration detention; the embassy does its part, the Ministry of Social Affairs takes
over at the border, the NGO in Malaysia sees nothing; a second request goes overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cases.deadlines import run_deadlines
from tests.api.repatriation_support import (
    ACK,
    BOX,
    CASE,
    COST,
    HANDOVER,
    PLAN,
    REQUEST,
    UPDATE,
    VIEW,
    a_request,
    counts,
    decoded,
    do,
    fetch,
    give_consent,
    grown,
    last_event,
    open_case,
    orgs,
    request_input,
)
from tests.network import RunningHub

BORDER_NOTE = "Handed over at Poipet border checkpoint by officer Sokha"


async def moved(
    hub: RunningHub,
    who: str,
    query: str,
    variables: dict[str, Any],
    field: str,
    status: str,
    case_events: int = 0,
    offers: int = 0,
) -> dict[str, Any]:
    """One step by ``who``: its history row, its REPATRIATION event to the three parties and
    its audit entry, written together (plus the case's own event when the case moves, and a
    custody offer's party row, event and audit entry when the step offers the case)."""
    org = orgs(hub)
    rid = variables.get("id")
    before = await counts(hub)
    data = await do(hub, who, query, variables, field)
    rid = rid or data["id"]
    assert data["status"] == status
    assert grown(before, await counts(hub)) == {
        "repatriation_requests": 0 if "id" in variables else 1,
        "repatriation_changes": 1,
        "case_parties": (0 if "id" in variables else 2) + offers,
        "events": 1 + case_events + offers,
        "audit": 1 + offers,
    }
    topic, kind, audience, payload = (
        await fetch(
            hub,
            "SELECT topic, type, audience, payload FROM events WHERE subject_id = :rid "
            "ORDER BY id DESC LIMIT 1",
            rid=rid,
        )
    )[0]
    assert (topic, kind) == (
        "REPATRIATION",
        "REPATRIATION_REQUESTED" if status == "SUBMITTED" else f"REPATRIATION_{status}",
    )
    assert decoded(audience) == sorted([org["adhoc"], org["embassy-bangkok"], org["mosavy"]])
    assert (decoded(payload)["status"], decoded(payload)["version"]) == (status, data["version"])
    actor = await fetch(
        hub,
        "SELECT actor_organization_id, action FROM audit WHERE subject_id = :rid "
        "ORDER BY id DESC LIMIT 1",
        rid=rid,
    )
    assert actor[0][0] == org[who] and actor[0][1].startswith("repatriation.")
    return data


async def test_adhoc_the_embassy_and_the_ministry_bring_a_survivor_home(hub: RunningHub) -> None:
    org = orgs(hub)
    story_starts = int(await hub.scalar("SELECT coalesce(max(id), 0) FROM events"))
    case_id = await open_case(hub)
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])

    # ADHOC asks: a request, its first history row, two new parties; the case follows.
    sent = await moved(
        hub,
        "adhoc",
        REQUEST,
        {"input": request_input(hub, case_id, "story-0001")},
        "requestRepatriation",
        "SUBMITTED",
        case_events=1,
    )
    rid = sent["id"]
    assert sent["version"] == 1

    # The embassy acknowledges, verifies, issues documents, plans and arranges travel.
    await moved(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation", "ACKNOWLEDGED")
    for status in ("VERIFYING", "DOCUMENTS_ISSUED"):
        await moved(
            hub,
            "embassy-bangkok",
            UPDATE,
            {"id": rid, "status": status},
            "updateRepatriation",
            status,
        )
    before = await counts(hub)
    plan = {"date": "2031-03-14", "route": "Bangkok - Aranyaprathet - Poipet", "escort": "IOM"}
    planned = await do(hub, "embassy-bangkok", PLAN, {"id": rid, "input": plan}, "recordTravelPlan")
    assert planned["travelPlan"] == plan and planned["version"] == 5
    # A new version, so a history entry of its own (the status stays).
    assert grown(before, await counts(hub)) == {
        "repatriation_requests": 0,
        "repatriation_changes": 1,
        "case_parties": 0,
        "events": 1,
        "audit": 1,
    }
    assert (await last_event(hub, rid))[0] == "REPATRIATION_TRAVEL_PLANNED"
    arranged = await moved(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": rid, "status": "TRAVEL_ARRANGED"},
        "updateRepatriation",
        "TRAVEL_ARRANGED",
    )
    assert arranged["version"] == 6

    # Whoever pays records the cost: decimal strings, ISO 4217 currencies.
    await do(
        hub,
        "embassy-bangkok",
        COST,
        {"id": rid, "input": {"item": "AIR_TICKET", "amount": "1200", "currency": "thb"}},
        "recordRepatriationCost",
    )
    before = await counts(hub)
    costs = await do(
        hub,
        "adhoc",
        COST,
        {"id": rid, "input": {"item": "ACCOMMODATION", "amount": "35.5", "currency": "USD"}},
        "recordRepatriationCost",
    )
    assert costs["costs"] == [
        {
            "item": "AIR_TICKET",
            "amount": "1200.00",
            "currency": "THB",
            "paidBy": org["embassy-bangkok"],
        },
        {"item": "ACCOMMODATION", "amount": "35.50", "currency": "USD", "paidBy": org["adhoc"]},
    ]
    assert grown(before, await counts(hub)) == {
        "repatriation_requests": 0,
        "repatriation_changes": 0,
        "case_parties": 0,
        "events": 1,
        "audit": 1,
    }
    assert (await last_event(hub, rid))[0] == "REPATRIATION_COST_RECORDED"

    returned = await moved(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": rid, "status": "RETURNED"},
        "updateRepatriation",
        "RETURNED",
    )
    assert returned["version"] == 7

    # The ministry confirms the hand-over at the border; the case is now REPATRIATED.
    handed = await moved(
        hub,
        "mosavy",
        HANDOVER,
        {"id": rid, "note": BORDER_NOTE},
        "confirmHandover",
        "HANDED_OVER",
        case_events=1,
        offers=1,  # the case is offered to the ministry (custody transfer)
    )
    assert handed["version"] == 8
    case = await do(hub, "adhoc", CASE, {"id": case_id}, "case")
    assert case["status"] == "REPATRIATED"
    assert [s["status"] for s in case["statusHistory"]] == [
        "OPEN",
        "AWAITING_REPATRIATION",
        "REPATRIATED",
    ]

    # The history says who moved it, when, and to which version; the note is for the parties.
    seen = await do(hub, "adhoc", VIEW, {"id": rid}, "repatriationRequest")
    history = seen["history"]
    assert [(h["action"], h["toStatus"], h["by"], h["version"]) for h in history] == [
        ("SUBMIT", "SUBMITTED", org["adhoc"], 1),
        ("ACKNOWLEDGE", "ACKNOWLEDGED", org["embassy-bangkok"], 2),
        ("VERIFY", "VERIFYING", org["embassy-bangkok"], 3),
        ("ISSUE_DOCUMENTS", "DOCUMENTS_ISSUED", org["embassy-bangkok"], 4),
        ("RECORD_TRAVEL_PLAN", "DOCUMENTS_ISSUED", org["embassy-bangkok"], 5),
        ("ARRANGE_TRAVEL", "TRAVEL_ARRANGED", org["embassy-bangkok"], 6),
        ("RETURN", "RETURNED", org["embassy-bangkok"], 7),
        ("CONFIRM_HANDOVER", "HANDED_OVER", org["mosavy"], 8),
    ]
    assert [h["fromStatus"] for h in history] == [None, *[h["toStatus"] for h in history][:-1]]
    stamps = [datetime.fromisoformat(h["at"]) for h in history]
    assert stamps == sorted(stamps) and all(s.tzinfo is not None for s in stamps)
    assert history[-1]["note"] == BORDER_NOTE
    assert (seen["embassyId"], seen["requesterId"], seen["receptionId"]) == (
        org["embassy-bangkok"],
        org["adhoc"],
        org["mosavy"],
    )
    texts = await fetch(hub, "SELECT CAST(payload AS TEXT) FROM events")
    texts += await fetch(hub, "SELECT CAST(detail AS TEXT) FROM audit")
    assert not [t for (t,) in texts if "Poipet border" in t]

    # The requester closes it.
    closed = await moved(
        hub, "adhoc", UPDATE, {"id": rid, "status": "CLOSED"}, "updateRepatriation", "CLOSED"
    )
    assert closed["version"] == 9

    # The NGO in Malaysia is no party: it sees neither the request, nor the case, nor events.
    outsider = await hub.gql("ngo-malaysia", VIEW, {"id": rid})
    assert outsider.codes == ["NOT_FOUND"] and outsider.data["repatriationRequest"] is None
    no_case = await hub.gql("ngo-malaysia", CASE, {"id": case_id})
    assert no_case.codes == ["NOT_FOUND"]
    for box in ("INBOX", "OUTBOX"):
        page = await do(hub, "ngo-malaysia", BOX, {"box": box, "first": 20}, "repatriationRequests")
        assert page["edges"] == [] and page["pageInfo"]["hasNextPage"] is False
    audiences = await fetch(
        hub, "SELECT CAST(audience AS TEXT) FROM events WHERE id > :start", start=story_starts
    )
    assert len(audiences) > 10 and not [a for (a,) in audiences if org["ngo-malaysia"] in a]


async def test_the_embassy_puts_verification_on_hold_and_takes_it_back(hub: RunningHub) -> None:
    _, rid = await a_request(hub, "story-hold-01")
    await do(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation")
    await do(
        hub, "embassy-bangkok", UPDATE, {"id": rid, "status": "VERIFYING"}, "updateRepatriation"
    )

    no_reason = await hub.gql("embassy-bangkok", UPDATE, {"id": rid, "status": "ON_HOLD"})
    assert no_reason.codes == ["BAD_USER_INPUT"]
    held = await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": rid, "status": "ON_HOLD", "note": "awaiting reply from Phnom Penh", "v": 3},
        "updateRepatriation",
    )
    assert held == {"id": rid, "status": "ON_HOLD", "heldFrom": "VERIFYING", "version": 4}
    assert (await last_event(hub, rid))[0] == "REPATRIATION_ON_HOLD"

    # While on hold the work does not go on.
    skipped = await hub.gql("embassy-bangkok", UPDATE, {"id": rid, "status": "DOCUMENTS_ISSUED"})
    assert skipped.codes == ["INVALID_TRANSITION"]

    back = await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": rid, "status": "VERIFYING", "v": 4},
        "updateRepatriation",
    )
    assert back == {"id": rid, "status": "VERIFYING", "heldFrom": None, "version": 5}
    on = await do(
        hub,
        "embassy-bangkok",
        UPDATE,
        {"id": rid, "status": "DOCUMENTS_ISSUED"},
        "updateRepatriation",
    )
    assert on["status"] == "DOCUMENTS_ISSUED"
    seen = await do(hub, "adhoc", VIEW, {"id": rid}, "repatriationRequest")
    assert [(h["action"], h["fromStatus"], h["toStatus"]) for h in seen["history"][2:]] == [
        ("VERIFY", "ACKNOWLEDGED", "VERIFYING"),
        ("HOLD", "VERIFYING", "ON_HOLD"),
        ("RESUME", "ON_HOLD", "VERIFYING"),
        ("ISSUE_DOCUMENTS", "VERIFYING", "DOCUMENTS_ISSUED"),
    ]
    assert seen["history"][3]["note"] == "awaiting reply from Phnom Penh"


async def test_each_party_finds_the_requests_in_its_own_box_page_by_page(hub: RunningHub) -> None:
    made = [(await a_request(hub, f"story-box-{n:02d}"))[1] for n in range(3)]
    newest_first = list(reversed(made))
    await do(hub, "embassy-bangkok", ACK, {"id": made[0]}, "acknowledgeRepatriation")

    for who, box in [("embassy-bangkok", "INBOX"), ("mosavy", "INBOX"), ("adhoc", "OUTBOX")]:
        first = await do(hub, who, BOX, {"box": box, "first": 2}, "repatriationRequests")
        assert [e["node"]["id"] for e in first["edges"]] == newest_first[:2]
        assert first["pageInfo"]["hasNextPage"] is True
        assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
        rest = await do(
            hub,
            who,
            BOX,
            {"box": box, "first": 2, "after": first["pageInfo"]["endCursor"]},
            "repatriationRequests",
        )
        assert [e["node"]["id"] for e in rest["edges"]] == newest_first[2:]
        assert rest["pageInfo"]["hasNextPage"] is False
        acked = await do(
            hub,
            who,
            BOX,
            {"box": box, "status": "ACKNOWLEDGED", "first": 5},
            "repatriationRequests",
        )
        assert [e["node"]["id"] for e in acked["edges"]] == [made[0]]

    for who, box in [
        ("embassy-bangkok", "OUTBOX"),
        ("adhoc", "INBOX"),
        ("embassy-kuala-lumpur", "INBOX"),
    ]:
        empty = await do(hub, who, BOX, {"box": box, "first": 5}, "repatriationRequests")
        assert empty["edges"] == []
    bad = await hub.gql("adhoc", BOX, {"box": "OUTBOX", "first": 0})
    assert bad.codes == ["BAD_USER_INPUT"]


async def test_an_unacknowledged_request_is_reminded_then_escalated_once(hub: RunningHub) -> None:
    org = orgs(hub)
    due = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    _, rid = await a_request(hub, "story-late-01", acknowledgeBy=due.isoformat())
    cipher = hub.app.state.hub.cipher
    seen = await do(hub, "adhoc", VIEW, {"id": rid}, "repatriationRequest")
    assert datetime.fromisoformat(seen["acknowledgeBy"]) == due and seen["overdue"] is False

    # Hours before the deadline: nothing to do.
    before = await counts(hub)
    early = await run_deadlines(hub.db, cipher, due - timedelta(hours=3))
    assert (early.reminded, early.escalated) == (0, 0)
    assert await counts(hub) == before

    # Just before it: the embassy, and only the embassy, is reminded, once.
    soon = await run_deadlines(hub.db, cipher, due - timedelta(minutes=30))
    assert soon.reminded == 1
    assert (await last_event(hub, rid))[:2] == ("REPATRIATION_REMINDER", [org["embassy-bangkok"]])
    again = await counts(hub)
    assert (await run_deadlines(hub.db, cipher, due - timedelta(minutes=20))).reminded == 0
    assert await counts(hub) == again

    # Past it: overdue, and escalated to the secretariat with the requester and the embassy.
    late = await run_deadlines(hub.db, cipher, due + timedelta(minutes=1))
    assert late.escalated == 1
    kind, audience, payload = await last_event(hub, rid)
    assert kind == "REPATRIATION_ESCALATED"
    assert org["secretariat"] in audience
    assert {org["adhoc"], org["embassy-bangkok"]} <= set(audience)
    assert org["ngo-malaysia"] not in audience and payload["status"] == "SUBMITTED"
    seen = await do(hub, "embassy-bangkok", VIEW, {"id": rid}, "repatriationRequest")
    assert seen["overdue"] is True and seen["status"] == "SUBMITTED"

    # Running again changes nothing.
    settled = await counts(hub)
    rerun = await run_deadlines(hub.db, cipher, due + timedelta(hours=5))
    assert (rerun.reminded, rerun.escalated, rerun.expired) == (0, 0, 0)
    assert await counts(hub) == settled

    # The embassy acknowledges late: no longer overdue.
    acked = await do(hub, "embassy-bangkok", ACK, {"id": rid}, "acknowledgeRepatriation")
    assert (acked["status"], acked["overdue"]) == ("ACKNOWLEDGED", False)
    assert (await run_deadlines(hub.db, cipher, due + timedelta(hours=6))).escalated == 0
