"""A page of reintegration plans costs the same number of SQL statements for 2 plans as for
6, services, visits and their notes included, and pages follow one another without gaps."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.api.reintegration_support import PLANS, RECORD, SCHEDULE, a_plan, later, returned_case
from tests.api.repatriation_support import do, orgs
from tests.api.test_page_statements import seen_by
from tests.marker_watch import planted
from tests.network import RunningHub

PAGE = """
query($first: Int!) {
  reintegrationPlans(first: $first) {
    edges { node { id status services { kind status endReason } visits { status note outcome }
                   withheld { field } } }
  }
}"""


async def plans_with_visits(hub: RunningHub, count: int) -> list[str]:
    org = orgs(hub)
    ids = []
    for n in range(count):
        case_id = await returned_case(hub)
        plan = await a_plan(hub, f"plan-page-{n:04d}", case_id=case_id)
        scheduled = await do(
            hub,
            "adhoc",
            SCHEDULE,
            {"id": plan["id"], "due": later(days=5), "visitor": org["ccpcr-koh-kong"]},
            "scheduleFollowUpVisit",
        )
        await do(
            hub,
            "ccpcr-koh-kong",
            RECORD,
            {
                "id": scheduled["visits"][0]["id"],
                "input": {
                    "outcome": "SEEN",
                    "note": planted(f"visit {n}"),
                    "nextDueAt": later(days=30),
                },
            },
            "recordFollowUpVisit",
        )
        ids.append(plan["id"])
    return ids


async def statements(hub: RunningHub, who: str, first: int) -> int:
    token = await hub.token(who)
    counts = []
    for _ in range(3):
        seen: list[str] = []
        count = seen_by(seen)
        engine = hub.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            result = await hub.gql(None, PAGE, {"first": first}, token=token)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert not result.errors, result.errors
        assert len(result.data["reintegrationPlans"]["edges"]) == first
        counts.append(len(seen))
    return min(counts)


# Counts statements over repeated identical queries: each must execute.
@pytest.mark.no_answer_cache
async def test_a_page_of_plans_costs_the_same_statements_for_2_and_6(hub: RunningHub) -> None:
    await plans_with_visits(hub, 6)
    for who in ("adhoc", "ccpcr-koh-kong"):  # the owner, and a visitor reading under consent
        assert await statements(hub, who, 2) == await statements(hub, who, 6)


async def test_pages_of_plans_follow_one_another(hub: RunningHub) -> None:
    created = await plans_with_visits(hub, 3)
    seen: list[str] = []
    after = None
    while True:
        page = await do(
            hub, "ccpcr-shelter", PLANS, {"first": 2, "after": after}, "reintegrationPlans"
        )
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(created))
    one_case = await do(hub, "adhoc", PLANS, {"first": 5}, "reintegrationPlans")
    assert len(one_case["edges"]) == 3
