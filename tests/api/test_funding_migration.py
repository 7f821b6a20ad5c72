"""Migration 0014 moves the costs recorded on repatriation requests into the one table of
funded costs, keeping their ids, and its downgrade puts them back. Run on the hub's own
database, SQLite or PostgreSQL."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from store.migrate import alembic_config, upgrade
from tests.api.repatriation_support import COST, VIEW, a_request, do, fetch, orgs
from tests.api.test_free_text_migration import downgrade
from tests.network import RunningHub


def before_0014() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0014_reintegration")
    assert revision is not None and isinstance(revision.down_revision, str)
    return revision.down_revision


async def test_repatriation_costs_survive_the_migration_both_ways(hub: RunningHub) -> None:
    org = orgs(hub)
    _, rid = await a_request(hub, "mig-0014-0001")
    for who, item, amount, currency in (
        ("embassy-bangkok", "AIR_TICKET", "1200", "THB"),
        ("adhoc", "ACCOMMODATION", "35.5", "USD"),
    ):
        await do(
            hub,
            who,
            COST,
            {"id": rid, "input": {"item": item, "amount": amount, "currency": currency}},
            "recordRepatriationCost",
        )
    recorded = await fetch(hub, "SELECT id, item, amount FROM funded_costs ORDER BY recorded_at")
    assert [(item, amount) for _, item, amount in recorded] == [
        ("AIR_TICKET", "1200.00"),
        ("ACCOMMODATION", "35.50"),
    ]
    await hub.db.dispose()
    url = hub.settings.database_url

    # Back before 0014: the old table holds them, as the old code reads them.
    await downgrade(url, before_0014())
    old = await fetch(
        hub,
        "SELECT id, request_id, item, amount, currency, paid_by_organization_id "
        "FROM repatriation_costs ORDER BY recorded_at",
    )
    assert [tuple(row) for row in old] == [
        (recorded[0][0], rid, "AIR_TICKET", "1200.00", "THB", org["embassy-bangkok"]),
        (recorded[1][0], rid, "ACCOMMODATION", "35.50", "USD", org["adhoc"]),
    ]
    await hub.db.dispose()

    # Up again: copied once, ids kept, and the request shows them as before.
    await upgrade(url)
    again = await fetch(
        hub,
        "SELECT id, subject_kind, subject_id, item, amount FROM funded_costs ORDER BY recorded_at",
    )
    assert [tuple(row) for row in again] == [
        (recorded[0][0], "REPATRIATION_REQUEST", rid, "AIR_TICKET", "1200.00"),
        (recorded[1][0], "REPATRIATION_REQUEST", rid, "ACCOMMODATION", "35.50"),
    ]
    shown = await do(hub, "adhoc", VIEW, {"id": rid}, "repatriationRequest")
    assert shown["costs"] == [
        {
            "item": "AIR_TICKET",
            "amount": "1200.00",
            "currency": "THB",
            "paidBy": org["embassy-bangkok"],
        },
        {"item": "ACCOMMODATION", "amount": "35.50", "currency": "USD", "paidBy": org["adhoc"]},
    ]
