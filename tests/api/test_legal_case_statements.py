"""A page of legal cases costs the same number of SQL statements for 5 rows as for 30: links,
hearings, history, grants and the survivors' cases load once per page, not once per row."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.api.justice_support import HEARING, UPDATE, opened, step, survivor_case
from tests.api.test_page_statements import seen_by
from tests.marker_watch import planted
from tests.network import RunningHub

PAGE = """
query($first: Int!) {
  legalCases(first: $first) {
    edges { node { id status court legalAid { name }
      survivors { caseId case { id fullName } }
      hearings { date outcomeNote } history { action note } withheld { field } } }
  }
}"""


async def statements(hub: RunningHub, who: str, first: int) -> int:
    counts = []
    token = await hub.token(who)
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
        assert len(result.data["legalCases"]["edges"]) == first
        counts.append(len(seen))
    return min(counts)


# Counts statements over repeated identical queries: each must execute.
@pytest.mark.no_answer_cache
async def test_a_page_of_legal_cases_costs_the_same_for_5_and_30_rows(hub: RunningHub) -> None:
    # One survivor in thirty prosecutions (the shelter's case, ADHOC following each), each
    # with a hearing whose note ADHOC wrote: the shelter reads every note as the case's owner.
    case_id = await survivor_case(hub, "ccpcr-shelter", planted("Sok Dara"))
    for n in range(30):
        lid = (await opened(hub, "ccpcr-shelter", [case_id], f"legal-page-{n:04d}"))["id"]
        if n % 10 == 9:  # the newest page of five holds one too
            for status in ("INVESTIGATION", "COURT"):
                await step(hub, "adhoc", UPDATE, {"id": lid, "status": status}, "updateLegalCase")
            hearing = {
                "date": "2026-11-20T09:00:00Z",
                "court": "Koh Kong Provincial Court",
                "transportProvided": True,
                "accommodationProvided": True,
                "outcomeNote": planted("the broker did not appear"),
                "idempotencyKey": f"hearing-page-{n:04d}",
            }
            await step(hub, "adhoc", HEARING, {"id": lid, "input": hearing}, "recordHearing")
    for who in ("ccpcr-shelter", "adhoc"):
        assert await statements(hub, who, 5) == await statements(hub, who, 30), who
