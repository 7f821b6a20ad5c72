"""The overview lists every kind of late item with the organisation that owes it, failing
webhooks, and survives its migration both ways."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from cases.deadlines import run_deadlines
from cases.intervention_models import InterventionRequest
from cases.models import Referral
from cases.reintegration_models import FollowUpVisit
from notifications.models import WebhookAttempt, WebhookDelivery
from store.migrate import upgrade
from tests.api.intervention_support import an_intervention
from tests.api.referral_steps import record_consent, sent
from tests.api.reintegration_support import SCHEDULE, a_plan, later
from tests.api.repatriation_support import do, fetch, orgs
from tests.api.test_cases_flow import open_case
from tests.api.test_free_text_migration import downgrade
from tests.api.test_network_overview import (
    ITEM,
    NOTE,
    OVERVIEW,
    REMIND,
    escalated_request,
)
from tests.marker_watch import planted
from tests.network import RunningHub


async def _past_due(hub: RunningHub, model: type, item_id: str, column: str) -> None:
    past = datetime.now(UTC) - timedelta(hours=5)
    async with hub.db.write() as session:
        await session.execute(
            update(model)
            .where(model.id == item_id)  # type: ignore[attr-defined]
            .values({column: past})
            .execution_options(synchronize_session=False)
        )


async def test_every_kind_of_late_item_is_on_the_desk_with_who_owes_it(hub: RunningHub) -> None:
    org = orgs(hub)
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    referral = await sent(hub, case_id, "adhoc", "desk-kinds-ref-01")
    _, intervention = await an_intervention(hub, "desk-kinds-int-01")
    plan = await a_plan(hub, "desk-kinds-plan-01")
    scheduled = await do(
        hub,
        "adhoc",
        SCHEDULE,
        {"id": plan["id"], "due": later(days=14), "visitor": org["ccpcr-koh-kong"]},
        "scheduleFollowUpVisit",
    )
    (visit,) = scheduled["visits"]
    await _past_due(hub, Referral, referral["id"], "acknowledge_by")
    await _past_due(hub, InterventionRequest, intervention, "acknowledge_by")
    await _past_due(hub, FollowUpVisit, visit["id"], "due_at")
    report = await run_deadlines(hub.db, hub.app.state.hub.cipher, datetime.now(UTC))
    assert report.escalated == 3

    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    items = {i["id"]: i for i in overview["lateItems"]}
    expected = {
        referral["id"]: ("REFERRAL", org["adhoc"], {"SENDER", "RECEIVER"}),
        intervention: ("INTERVENTION_REQUEST", org["embassy-bangkok"], {"REQUESTER", "EMBASSY"}),
        visit["id"]: ("FOLLOW_UP_VISIT", org["ccpcr-koh-kong"], {"PLAN_OWNER", "VISITOR"}),
    }
    for item_id, (kind, owes, roles) in expected.items():
        item = items[item_id]
        assert (item["kind"], item["lateOrganizationId"], item["overdue"]) == (kind, owes, True)
        assert {p["role"] for p in item["parties"]} == roles
        assert item["lateBySeconds"] >= 5 * 3600 - 60
        seen = await do(hub, "secretariat", ITEM, {"kind": kind, "id": item_id}, "deskItem")
        assert seen["id"] == item_id
        reminded = await do(
            hub, "secretariat", REMIND, {"kind": kind, "id": item_id}, "remindOrganization"
        )
        assert reminded["organizationId"] == owes
    # Escalation events of each kind name the item the secretariat may read.
    payloads = await fetch(
        hub, "SELECT type, payload FROM events WHERE type LIKE '%_ESCALATED' ORDER BY id"
    )
    named = {str(p) for _, p in payloads}
    for item_id in expected:
        assert any(item_id in p and "coordinatorMayRead" in p for p in named), item_id
    # Late acknowledgers: the receivers that owe an acknowledgement past its deadline.
    late = {a["organizationId"] for a in overview["lateAcknowledgers"]}
    assert {org["adhoc"], org["embassy-bangkok"]} <= late


async def test_failing_webhooks_are_listed_without_their_address(hub: RunningHub) -> None:
    org = orgs(hub)
    created = await do(
        hub,
        "ngo-malaysia",
        'mutation { createWebhook(input: {url: "https://hooks.example.org/desk", '
        "topics: [REPATRIATION]}) { webhook { id } } }",
        {},
        "createWebhook",
    )
    hook_id = created["webhook"]["id"]
    now = datetime.now(UTC)
    async with hub.db.write() as session:
        for event_id, (status, attempts) in enumerate(
            (("FAILED", 8), ("PENDING", 2), ("DELIVERED", 1)), start=1
        ):
            delivery_id = str(uuid.uuid4())
            session.add(
                WebhookDelivery(
                    id=delivery_id,
                    webhook_id=hook_id,
                    event_id=event_id,
                    status=status,
                    attempts=attempts,
                    created_at=now - timedelta(hours=3),
                    next_attempt_at=now,
                    delivered_at=now if status == "DELIVERED" else None,
                )
            )
            await session.flush()
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    at=now - timedelta(minutes=10),
                    status_code=200 if status == "DELIVERED" else 503,
                    error=None,
                    duration_ms=40,
                )
            )
    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    (hook,) = [h for h in overview["failingWebhooks"] if h["webhookId"] == hook_id]
    assert hook == {
        "webhookId": hook_id,
        "organizationId": org["ngo-malaysia"],
        "failedDeliveries": 1,
        "retryingDeliveries": 1,
    }
    address = await hub.gql(
        "secretariat", "{ networkOverview { failingWebhooks { webhookId url } } }"
    )
    assert address.codes == ["BAD_USER_INPUT"]


async def test_desk_tables_survive_the_migration_both_ways(hub: RunningHub) -> None:
    _, rid = await escalated_request(hub, "desk-migration-01")
    text = planted("Meet her at Poipet with the uncle")
    await do(
        hub,
        "secretariat",
        NOTE,
        {"kind": "REPATRIATION_REQUEST", "id": rid, "text": text},
        "addDeskNote",
    )
    clients = await hub.scalar("SELECT count(*) FROM api_clients")
    await hub.db.dispose()
    url = hub.settings.database_url
    await downgrade(url, "0017_case_keys")
    assert await hub.scalar("SELECT count(*) FROM api_clients") == clients
    await hub.db.dispose()
    await upgrade(url)
    assert await hub.scalar("SELECT count(*) FROM desk_notes") == 0
    assert await hub.scalar("SELECT count(*) FROM api_clients") == clients
    overview = await do(hub, "secretariat", OVERVIEW, {}, "networkOverview")
    assert rid in [i["id"] for i in overview["lateItems"]]
