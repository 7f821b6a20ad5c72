"""ADHOC plans a returned survivor's reintegration with the CCPCR shelter; CCPCR Koh Kong
visits her at home; the case closes when the plan is complete."""

from __future__ import annotations

from tests.api.reintegration_support import (
    CASE_STATUS,
    COMPLETE,
    CREATE_PLAN,
    PLAN,
    PLANS,
    RECORD,
    SCHEDULE,
    START,
    a_plan,
    later,
    returned_case,
    services,
)
from tests.api.repatriation_support import decoded, do, fetch, orgs
from tests.marker_watch import planted
from tests.network import RunningHub

SAFE_AT_HOME = planted("lives with her aunt in Prey Veng, sells noodles at the market")
CLINIC = planted("HIV clinic appointment on the 3rd")


def kinds(plan: dict[str, object]) -> dict[str, dict[str, object]]:
    return {s["kind"]: s for s in plan["services"]}  # type: ignore[attr-defined,index]


async def case_status(hub: RunningHub, case_id: str) -> str:
    found = await do(hub, "adhoc", CASE_STATUS, {"id": case_id}, "case")
    return str(found["status"])


async def test_a_plan_runs_from_training_to_follow_up_and_closes_the_case(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id = await returned_case(hub)
    plan = await a_plan(
        hub,
        "plan-flow-0001",
        ("VOCATIONAL_TRAINING", "ccpcr-shelter"),
        ("FINANCIAL_LITERACY_TRAINING", "ccpcr-shelter"),
        ("SMALL_BUSINESS_GRANT", "ccpcr-shelter"),
        case_id=case_id,
    )
    assert plan["status"] == "ACTIVE" and plan["version"] == 1
    assert {s["status"] for s in plan["services"]} == {"PLANNED"}
    assert {s["providerId"] for s in plan["services"]} == {org["ccpcr-shelter"]}
    assert await case_status(hub, case_id) == "REINTEGRATING"
    pid = plan["id"]

    # The provider works through its services; the grant waits for financial literacy.
    by_kind = kinds(plan)
    early = await hub.gql("ccpcr-shelter", START, {"id": by_kind["SMALL_BUSINESS_GRANT"]["id"]})
    assert early.codes == ["INVALID_TRANSITION"]
    version = plan["version"]
    for kind in ("VOCATIONAL_TRAINING", "FINANCIAL_LITERACY_TRAINING", "SMALL_BUSINESS_GRANT"):
        sid = by_kind[kind]["id"]
        started = await do(
            hub, "ccpcr-shelter", START, {"id": sid, "v": version}, "startReintegrationService"
        )
        assert kinds(started)[kind]["status"] == "IN_PROGRESS"
        done = await do(
            hub,
            "ccpcr-shelter",
            COMPLETE,
            {"id": sid, "v": version + 1},
            "completeReintegrationService",
        )
        assert kinds(done)[kind]["status"] == "COMPLETED"
        version += 2
    assert done["version"] == version and done["status"] == "ACTIVE"
    # Every service done, no visit yet: the case is in follow-up, not closed.
    assert await case_status(hub, case_id) == "FOLLOW_UP"

    scheduled = await do(
        hub,
        "adhoc",
        SCHEDULE,
        {"id": pid, "due": later(days=30), "visitor": org["ccpcr-koh-kong"]},
        "scheduleFollowUpVisit",
    )
    (visit,) = scheduled["visits"]
    assert visit["status"] == "SCHEDULED" and visit["visitorId"] == org["ccpcr-koh-kong"]

    # The visitor records what it found and when to come back: the next visit is scheduled.
    first = await do(
        hub,
        "ccpcr-koh-kong",
        RECORD,
        {
            "id": visit["id"],
            "input": {
                "outcome": "SAFE",
                "note": SAFE_AT_HOME,
                "noteCategory": "LOCATION",
                "nextDueAt": later(days=90),
            },
        },
        "recordFollowUpVisit",
    )
    done_visit, following = first["visits"]
    assert done_visit["status"] == "DONE" and done_visit["outcome"] == "SAFE"
    assert done_visit["note"] == SAFE_AT_HOME
    assert done_visit["nextVisitId"] == following["id"] and following["status"] == "SCHEDULED"
    assert following["visitorId"] == org["ccpcr-koh-kong"]
    assert first["status"] == "ACTIVE"
    assert await case_status(hub, case_id) == "FOLLOW_UP"

    # A HEALTH note: the owner reads it, the shelter's consent covers only IDENTITY, LOCATION.
    last = await do(
        hub,
        "ccpcr-koh-kong",
        RECORD,
        {"id": following["id"], "input": {"outcome": "NEEDS_MET", "note": CLINIC}},
        "recordFollowUpVisit",
    )
    assert last["status"] == "COMPLETED" and last["completedAt"]
    assert await case_status(hub, case_id) == "CLOSED"
    owner_view = await do(hub, "adhoc", PLAN, {"id": pid}, "reintegrationPlan")
    assert [v["note"] for v in owner_view["visits"]] == [SAFE_AT_HOME, CLINIC]
    assert owner_view["withheld"] == []
    shelter_view = await do(hub, "ccpcr-shelter", PLAN, {"id": pid}, "reintegrationPlan")
    assert [v["note"] for v in shelter_view["visits"]] == [SAFE_AT_HOME, None]
    assert shelter_view["withheld"] == [
        {"field": "visits.note", "category": "HEALTH", "reason": "CATEGORY_NOT_COVERED"}
    ]
    # What the shelter was shown is in the disclosure log, under its consent.
    logged = await fetch(
        hub,
        "SELECT categories FROM disclosures WHERE organization_id = :org AND case_id = :case",
        org=org["ccpcr-shelter"],
        case=case_id,
    )
    assert ["LOCATION"] in [decoded(c) for (c,) in logged]

    # The plan's events name ids, statuses and kinds: never a note.
    events = await fetch(
        hub, "SELECT type, payload FROM events WHERE subject_id = :pid ORDER BY id", pid=pid
    )
    types = [t for t, _ in events]
    assert types[0] == "REINTEGRATION_PLAN_CREATED"
    assert types[-1] == "REINTEGRATION_PLAN_COMPLETED"
    assert types.count("FOLLOW_UP_VISIT_RECORDED") == 2
    assert "FOLLOW_UP_CONCERN" not in types
    for _, payload in events:
        assert "SURVIVOR-MARKER" not in str(decoded(payload))

    # No more visits on a completed plan.
    again = await hub.gql("adhoc", SCHEDULE, {"id": pid, "due": later(days=10)})
    assert again.codes == ["INVALID_TRANSITION"]


async def test_parties_list_their_plans_and_an_outsider_sees_none(hub: RunningHub) -> None:
    plan = await a_plan(hub, "plan-list-0001")
    for who in ("adhoc", "ccpcr-shelter"):
        page = await do(hub, who, PLANS, {"first": 10}, "reintegrationPlans")
        assert [e["node"]["id"] for e in page["edges"]] == [plan["id"]]
    for who in ("ngo-malaysia", "ccpcr-koh-kong", "secretariat"):
        page = await hub.gql(who, PLANS, {"first": 10})
        assert page.codes in ([], ["FORBIDDEN"])
        if not page.errors:
            assert page.data["reintegrationPlans"]["edges"] == []
        alone = await hub.gql(who, PLAN, {"id": plan["id"]})
        assert alone.codes in (["NOT_FOUND"], ["FORBIDDEN"]) and alone.data in (
            None,
            {"reintegrationPlan": None},
        )


async def test_a_retried_plan_is_the_same_plan_and_a_reused_key_conflicts(hub: RunningHub) -> None:
    case_id = await returned_case(hub)
    body = {
        "caseId": case_id,
        "services": services(hub, ("SCHOOL_ENROLMENT", "ccpcr-shelter")),
        "idempotencyKey": "plan-retry-0001",
    }
    first = await do(hub, "adhoc", CREATE_PLAN, {"input": body}, "createReintegrationPlan")
    again = await do(hub, "adhoc", CREATE_PLAN, {"input": body}, "createReintegrationPlan")
    assert again["id"] == first["id"]
    other = {**body, "services": services(hub, ("JOB_PLACEMENT", "ccpcr-shelter"))}
    reused = await hub.gql("adhoc", CREATE_PLAN, {"input": other})
    assert reused.codes == ["CONFLICT"]
    assert await hub.scalar("SELECT count(*) FROM reintegration_plans") == 1
    # and a second active plan on the same case, under a new key, is a conflict too
    second = await hub.gql(
        "adhoc", CREATE_PLAN, {"input": {**other, "idempotencyKey": "plan-retry-0002"}}
    )
    assert second.codes == ["CONFLICT"]
