"""Migration 0015 adds legal cases and documents beside what a hub already holds: going back
drops only its own tables, and forward again the hub opens legal cases on the same data."""

from __future__ import annotations

from sqlalchemy import inspect

from store.engine import standalone_engine
from store.migrate import upgrade
from tests.api.justice_support import opened, survivor_case
from tests.api.test_free_text_migration import downgrade
from tests.marker_watch import planted
from tests.network import RunningHub

OURS = {"legal_cases", "legal_case_links", "legal_case_changes", "legal_case_hearings", "documents"}


async def tables(url: str) -> set[str]:
    engine = standalone_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def test_the_justice_tables_come_and_go_without_touching_cases(hub: RunningHub) -> None:
    case_id = await survivor_case(hub, "ccpcr-shelter", planted("Sok Dara"))
    await opened(hub, "ccpcr-shelter", [case_id], "mig-0015-0001")
    cases_before = await hub.scalar("SELECT count(*) FROM cases")
    standing_sql = (
        "SELECT count(*) FROM case_parties WHERE source_type = 'LEGAL_CASE' AND ended_at IS NULL"
    )
    assert await hub.scalar(standing_sql) == 1
    await hub.db.dispose()
    url = hub.settings.database_url

    await downgrade(url, "0010_page_indexes")
    assert not OURS & await tables(url)
    # ADHOC's standing that came through the dropped legal case has ended.
    assert await hub.scalar(standing_sql) == 0
    assert await hub.scalar("SELECT count(*) FROM cases") == cases_before
    await hub.db.dispose()

    await upgrade(url)
    assert OURS <= await tables(url)
    assert await hub.scalar("SELECT count(*) FROM legal_cases") == 0
    await hub.db.dispose()
    again = await opened(hub, "ccpcr-shelter", [case_id], "mig-0015-0002")
    assert again["status"] == "COMPLAINT_FILED"
    assert await hub.scalar("SELECT count(*) FROM cases") == cases_before
