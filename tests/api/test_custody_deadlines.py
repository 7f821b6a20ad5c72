"""An offer of custody not answered in time: the addressee is reminded the day before it is
due, then the offer expires, the case stays with its owner, and the custody history shows
it (EXPIRED). Driven by the hub's deadline pass with a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from cases.deadlines import run_deadlines
from tests.api.custody_support import (
    ACCEPT,
    CASE,
    HISTORY,
    TRANSFER,
    consent_to,
    transfer_input,
)
from tests.api.repatriation_support import decoded, do, fetch, open_case, orgs
from tests.marker_watch import planted
from tests.network import RunningHub


async def offered(hub: RunningHub, key: str) -> tuple[str, dict[str, object]]:
    case_id = await open_case(hub)  # ADHOC's
    await consent_to(hub, case_id, "adhoc", ["ccpcr-shelter"], ["SERVICE_REFERRAL"], ["IDENTITY"])
    offer = await do(
        hub,
        "adhoc",
        TRANSFER.replace("answerReason", "answerReason answerBy createdAt"),
        transfer_input(hub, case_id, "ccpcr-shelter", planted("she moves to the shelter"), key),
        "transferCase",
    )
    return case_id, offer


async def events(hub: RunningHub, case_id: str, kind: str) -> list[tuple[list[str], object]]:
    rows = await fetch(
        hub,
        "SELECT audience, payload FROM events WHERE subject_id = :c AND type = :t ORDER BY id",
        c=case_id,
        t=kind,
    )
    return [(decoded(a), decoded(p)) for a, p in rows]


async def test_an_unanswered_offer_is_reminded_then_expires_and_the_owner_keeps_the_case(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    case_id, offer = await offered(hub, "custody-due-1")
    created = datetime.fromisoformat(str(offer["createdAt"]))
    due = datetime.fromisoformat(str(offer["answerBy"]))
    assert due == created + timedelta(days=7)
    cipher = hub.app.state.hub.cipher

    assert (await run_deadlines(hub.db, cipher, created + timedelta(days=3))).reminded == 0
    assert (await run_deadlines(hub.db, cipher, due - timedelta(hours=20))).reminded == 1
    assert (await run_deadlines(hub.db, cipher, due - timedelta(hours=2))).reminded == 0
    ((audience, payload),) = await events(hub, case_id, "CASE_TRANSFER_REMINDER")
    assert audience == [org["ccpcr-shelter"]]
    assert payload == {
        "transferId": offer["id"],
        "caseId": case_id,
        "status": "OFFERED",
        "version": 1,
        "from": org["adhoc"],
        "to": org["ccpcr-shelter"],
        "origin": "OFFER",
    }

    late = await run_deadlines(hub.db, cipher, due + timedelta(minutes=1))
    assert late.expired == 1
    assert (await run_deadlines(hub.db, cipher, due + timedelta(days=2))).expired == 0
    ((audience, payload),) = await events(hub, case_id, "CASE_TRANSFER_EXPIRED")
    assert audience == sorted([org["adhoc"], org["ccpcr-shelter"]])
    assert isinstance(payload, dict) and payload["status"] == "EXPIRED"

    # History shows it; the case is still ADHOC's; the addressee can no longer accept.
    (row,) = await do(hub, "adhoc", HISTORY, {"id": case_id}, "custodyHistory")
    assert (row["status"], row["version"], row["answeredBy"]) == ("EXPIRED", 2, None)
    assert row["answeredAt"] is not None
    late_accept = await hub.gql("ccpcr-shelter", ACCEPT, {"id": offer["id"], "v": 2})
    assert late_accept.codes == ["INVALID_TRANSITION"], late_accept.body
    case = await do(hub, "adhoc", CASE, {"id": case_id}, "case")
    assert case["ownerId"] == org["adhoc"]
    # Its standing as the one deciding ended with the offer.
    standing = await fetch(
        hub, "SELECT ended_at FROM case_parties WHERE source_id = :t", t=offer["id"]
    )
    assert len(standing) == 1 and standing[0][0] is not None
    audits = await fetch(
        hub,
        "SELECT action FROM audit WHERE subject_id = :t ORDER BY id",
        t=offer["id"],
    )
    assert [a for (a,) in audits][-2:] == ["case.transfer_reminder", "case.transfer_expired"]

    # The owner may offer it again: nothing open blocks a new offer.
    again = await do(
        hub,
        "adhoc",
        TRANSFER,
        transfer_input(hub, case_id, "ccpcr-shelter", planted("a second try"), "custody-due-2"),
        "transferCase",
    )
    assert again["status"] == "OFFERED"


async def test_an_answered_offer_never_expires(hub: RunningHub) -> None:
    case_id, offer = await offered(hub, "custody-due-3")
    due = datetime.fromisoformat(str(offer["answerBy"]))
    accepted = await do(
        hub, "ccpcr-shelter", ACCEPT, {"id": offer["id"], "v": 1}, "acceptCaseTransfer"
    )
    assert accepted["status"] == "ACCEPTED"
    cipher = hub.app.state.hub.cipher
    report = await run_deadlines(hub.db, cipher, due + timedelta(days=1))
    assert (report.reminded, report.expired) == (0, 0)
    assert await events(hub, case_id, "CASE_TRANSFER_EXPIRED") == []
    (row,) = await do(hub, "adhoc", HISTORY, {"id": case_id}, "custodyHistory")
    assert row["status"] == "ACCEPTED"
