"""A follow-up visit comes due: the visitor and the owner are reminded a day ahead; once
overdue it is escalated to them and the coordinators, once. A visit that finds the survivor
at risk or re-trafficked tells the owner at once, in an event of its own."""

from __future__ import annotations

from datetime import datetime, timedelta

from cases.deadlines import run_deadlines
from tests.api.reintegration_support import PLAN, RECORD, SCHEDULE, a_plan, later
from tests.api.repatriation_support import decoded, do, fetch, orgs
from tests.marker_watch import planted
from tests.network import RunningHub


async def events_of(
    hub: RunningHub, pid: str, kind: str
) -> list[tuple[list[str], dict[str, object]]]:
    rows = await fetch(
        hub,
        "SELECT audience, payload FROM events WHERE subject_id = :pid AND type = :t ORDER BY id",
        pid=pid,
        t=kind,
    )
    return [(decoded(a), decoded(p)) for a, p in rows]


async def test_an_overdue_visit_is_reminded_then_escalated_once(hub: RunningHub) -> None:
    org = orgs(hub)
    plan = await a_plan(hub, "visit-due-0001")
    pid = plan["id"]
    scheduled = await do(
        hub,
        "adhoc",
        SCHEDULE,
        {"id": pid, "due": later(days=14), "visitor": org["ccpcr-koh-kong"]},
        "scheduleFollowUpVisit",
    )
    (visit,) = scheduled["visits"]
    due = datetime.fromisoformat(visit["dueAt"])
    cipher = hub.app.state.hub.cipher

    assert (await run_deadlines(hub.db, cipher, due - timedelta(days=2))).reminded == 0
    soon = await run_deadlines(hub.db, cipher, due - timedelta(hours=20))
    assert soon.reminded == 1
    assert (await run_deadlines(hub.db, cipher, due - timedelta(hours=10))).reminded == 0
    ((audience, payload),) = await events_of(hub, pid, "FOLLOW_UP_VISIT_REMINDER")
    assert audience == sorted([org["adhoc"], org["ccpcr-koh-kong"]])
    assert payload["visitId"] == visit["id"] and payload["planId"] == pid

    late = await run_deadlines(hub.db, cipher, due + timedelta(minutes=1))
    assert late.escalated == 1
    ((audience, payload),) = await events_of(hub, pid, "FOLLOW_UP_VISIT_ESCALATED")
    assert set(audience) == {org["adhoc"], org["ccpcr-koh-kong"], org["secretariat"]}
    assert payload["visitId"] == visit["id"]
    assert (await run_deadlines(hub.db, cipher, due + timedelta(days=3))).escalated == 0
    seen = await do(hub, "adhoc", PLAN, {"id": pid}, "reintegrationPlan")
    assert seen["visits"][0]["overdue"] is True
    audits = await hub.scalar(
        "SELECT count(*) FROM audit WHERE subject_id = :pid AND action LIKE 'reintegration.follow_up%'",
        pid=pid,
    )
    assert audits == 2

    # Recorded late, the visit is no longer overdue.
    recorded = await do(
        hub,
        "ccpcr-koh-kong",
        RECORD,
        {"id": visit["id"], "input": {"outcome": "SEEN"}},
        "recordFollowUpVisit",
    )
    assert recorded["visits"][0]["overdue"] is False
    assert recorded["visits"][0]["status"] == "DONE"


async def test_a_visit_finding_her_at_risk_or_re_trafficked_tells_the_owner(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    plan = await a_plan(hub, "visit-risk-0001")
    pid = plan["id"]
    scheduled = await do(
        hub,
        "adhoc",
        SCHEDULE,
        {"id": pid, "due": later(days=7), "visitor": org["ccpcr-koh-kong"]},
        "scheduleFollowUpVisit",
    )
    visit_id = scheduled["visits"][0]["id"]
    first = await do(
        hub,
        "ccpcr-koh-kong",
        RECORD,
        {
            "id": visit_id,
            "input": {
                "outcome": "AT_RISK",
                "note": planted("broker came back"),
                "nextDueAt": later(days=3),
            },
        },
        "recordFollowUpVisit",
    )
    # Visits are listed by due date: the next one, due sooner, comes first.
    (done,) = [v for v in first["visits"] if v["id"] == visit_id]
    next_id = done["nextVisitId"]
    assert [v["id"] for v in first["visits"]] == [next_id, visit_id]
    assert first["status"] == "ACTIVE"
    await do(
        hub,
        "ccpcr-koh-kong",
        RECORD,
        {"id": next_id, "input": {"outcome": "RE_TRAFFICKED"}},
        "recordFollowUpVisit",
    )
    concerns = await events_of(hub, pid, "FOLLOW_UP_CONCERN")
    assert [p["outcome"] for _, p in concerns] == ["AT_RISK", "RE_TRAFFICKED"]
    assert all(audience == [org["adhoc"]] for audience, _ in concerns)
    for _, payload in concerns:
        assert set(payload) == {"planId", "caseId", "status", "version", "visitId", "outcome"}
    # Every service is open still, and the last visit found her re-trafficked: not complete.
    shown = await do(hub, "adhoc", PLAN, {"id": pid}, "reintegrationPlan")
    assert shown["status"] == "ACTIVE"
