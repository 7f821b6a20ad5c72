"""Migration 0006 seals what earlier versions kept in plain: travel plans and the reasons
survivors gave for withdrawing consent. Existing rows are converted, the plain columns go,
and the hub reads them back as before. Run on the hub's own database, SQLite or PostgreSQL.
"""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from store.engine import standalone_engine
from store.migrate import alembic_config, upgrade
from tests.api.repatriation_support import PLAN, a_request, fetch
from tests.network import RunningHub

MARK = "zq-migrate-0006-Tp4"
ROUTE = f"Kuala Lumpur - Phnom Penh by air {MARK}-route"
WHY = f"she is afraid of her uncle {MARK}-why"


async def downgrade(url: str, revision: str) -> None:
    engine = standalone_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.downgrade(alembic_config(sync), revision)
            )
    finally:
        await engine.dispose()


async def test_travel_plans_and_withdrawal_reasons_are_sealed_in_place(hub: RunningHub) -> None:
    case_id, rid = await a_request(hub, "mig-0006-0001")
    planned = await hub.gql(
        "embassy-bangkok", PLAN, {"id": rid, "input": {"date": "2027-03-01", "route": ROUTE}}
    )
    assert not planned.errors, planned.errors
    consents = await hub.gql(
        "adhoc", "query($id: ID!) { consents(caseId: $id) { id } }", {"id": case_id}
    )
    (consent,) = consents.data["consents"]
    withdrawn = await hub.gql(
        "adhoc",
        "mutation($id: ID!, $why: String!) { withdrawConsent(consentId: $id, reason: $why) { id } }",
        {"id": consent["id"], "why": WHY},
    )
    assert not withdrawn.errors, withdrawn.errors
    await hub.db.dispose()

    # Back to 0005, the texts are plain again (what an old database holds)
    url = hub.settings.database_url
    await downgrade(url, "0005")
    plain = await fetch(hub, "SELECT travel_plan FROM repatriation_requests WHERE id = :id", id=rid)
    stored = plain[0][0]
    assert (json.loads(stored) if isinstance(stored, str) else stored)["route"] == ROUTE
    reasons = await fetch(hub, "SELECT reason FROM consent_withdrawals")
    assert [r for (r,) in reasons] == [WHY]
    await hub.db.dispose()

    # When the migration runs
    await upgrade(url)

    # Then no plain copy is left, in any column of either table
    rows = await fetch(hub, "SELECT * FROM repatriation_requests")
    rows += await fetch(hub, "SELECT * FROM consent_withdrawals")
    assert MARK not in str(rows)
    async with hub.db.read() as session:
        columns = await session.execute(text("SELECT * FROM repatriation_requests LIMIT 0"))
        assert "travel_plan" not in columns.keys()
    # and the hub reads them back: the owner its survivor's reason, the embassy nothing now
    seen = await hub.gql(
        "adhoc",
        "query($id: ID!) { consents(caseId: $id) { withdrawal { reason } } }",
        {"id": case_id},
    )
    assert seen.data["consents"] == [{"withdrawal": {"reason": WHY}}]
    own = await hub.gql(
        "adhoc",
        "query($id: ID!) { repatriationRequest(id: $id) { travelPlan { route } } }",
        {"id": rid},
    )
    assert own.data["repatriationRequest"]["travelPlan"] == {"route": ROUTE}
