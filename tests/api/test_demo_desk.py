"""The demo network gives the coordinator's desk something real to show: a request still
late, an embassy that acknowledged late, a failing webhook, an idle client."""

from __future__ import annotations

from cases.demo_desk import seed_desk_history
from cases.demo_journey import seed_demo_journey
from gateway.app import data_cipher
from tests.api.repatriation_support import do, orgs
from tests.api.test_network_overview import OVERVIEW
from tests.network import RunningHub


async def test_the_demo_gives_the_coordinator_a_desk_with_work_on_it(hub: RunningHub) -> None:
    org = orgs(hub)
    cipher = data_cipher(hub.settings)
    await seed_demo_journey(hub.db, cipher, hub.members)
    history = await seed_desk_history(hub.db, cipher, hub.members)

    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    (late,) = [i for i in overview["lateItems"] if i["id"] == history.still_late_request_id]
    assert late["lateOrganizationId"] == org["embassy-kuala-lumpur"]
    assert late["lateBySeconds"] >= 3 * 24 * 3600 - 600
    # The request Bangkok acknowledged late is settled: in the history, not the current list.
    assert history.acknowledged_late_request_id not in [i["id"] for i in overview["lateItems"]]
    settled = await do(hub, "secretariat", OVERVIEW, {"settled": True}, "networkOverview")
    assert history.acknowledged_late_request_id in [i["id"] for i in settled["lateItems"]]

    acknowledgers = {a["organizationId"]: a for a in overview["lateAcknowledgers"]}
    bangkok = acknowledgers[org["embassy-bangkok"]]
    assert bangkok["late"] >= 1 and bangkok["medianSecondsToAcknowledge"] is not None
    assert acknowledgers[org["embassy-kuala-lumpur"]]["late"] >= 1

    (hook,) = [
        h for h in overview["failingWebhooks"] if h["webhookId"] == history.failing_webhook_id
    ]
    assert (hook["organizationId"], hook["failedDeliveries"]) == (org["ngo-malaysia"], 2)

    clients = {c["clientId"]: c for c in overview["clientsNeedingAttention"]}
    assert set(clients[history.idle_client_id]["concerns"]) == {
        "NEVER_USED",
        "NEVER_ROTATED",
        "KEY_EXPIRED",
    }
    assert "fictional" not in str(overview)
