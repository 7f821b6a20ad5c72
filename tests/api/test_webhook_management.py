"""Owners manage their webhooks: change URL and topics, disable and enable, rotate the
signing secret, delete. Each change is audited and told to the owner; for anyone else the
webhook does not exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError

from store.types import utcnow
from tests.api.event_support import counts, ok
from tests.api.registration_support import ISSUE
from tests.api.test_webhooks import create, dispatcher, receiver
from tests.network import RunningHub

UPDATE = (
    "mutation($id: ID!, $url: String, $topics: [EventTopic!]) "
    "{ updateWebhook(id: $id, input: {url: $url, topics: $topics}) { id url topics enabled } }"
)
DISABLE = "mutation($id: ID!) { disableWebhook(id: $id) { id enabled } }"
ENABLE = "mutation($id: ID!) { enableWebhook(id: $id) { id enabled } }"
DELETE = "mutation($id: ID!) { deleteWebhook(id: $id) }"
ROTATE = "mutation($id: ID!) { rotateWebhookSecret(id: $id) { webhook { id } signingSecret } }"
TABLES = ("webhooks", "webhook_deliveries", "webhook_attempts", "audit", "events")


async def audited(hub: RunningHub, action: str, webhook_id: str) -> int:
    return int(
        await hub.scalar(
            "SELECT COUNT(*) FROM audit WHERE action = :a AND subject_id = :id",
            a=action,
            id=webhook_id,
        )
    )


async def issue(hub: RunningHub, member: str) -> None:
    """Something that happens to ``member`` (an ORGANIZATION event in its audience)."""
    await ok(hub, "secretariat", ISSUE, {"org": hub.members[member].organization_id})


async def test_an_owner_moves_its_webhook_and_changes_its_topics(hub: RunningHub) -> None:
    async with receiver() as partner, dispatcher(hub) as sender:
        webhook_id, _ = await create(hub, "adhoc", partner.url("old"), ["REFERRAL"])

        changed = await ok(
            hub, "adhoc", UPDATE, {"id": webhook_id, "url": partner.url("new"),
                                    "topics": ["ORGANIZATION", "CASE"]},
        )  # fmt: skip

        assert changed["updateWebhook"] == {
            "id": webhook_id,
            "url": partner.url("new"),
            "topics": ["CASE", "ORGANIZATION"],
            "enabled": True,
        }
        assert await audited(hub, "webhook.update", webhook_id) == 1
        await issue(hub, "adhoc")
        assert await sender.run_once(utcnow()) == (2, 2)
        # The change itself is news for the owner, then what follows, at the new URL.
        assert [b["type"] for b in partner.bodies("new")] == [
            "WEBHOOK_UPDATED",
            "REGISTRATION_TOKEN_ISSUED",
        ]
        assert partner.bodies("old") == []
        # Only the topics may change too
        topics_only = await ok(hub, "adhoc", UPDATE, {"id": webhook_id, "topics": ["CONSENT"]})
        assert topics_only["updateWebhook"]["url"] == partner.url("new")


async def test_an_update_must_change_something_and_stay_valid(hub: RunningHub) -> None:
    webhook_id, _ = await create(hub, "adhoc", "http://127.0.0.1:9/hook", ["REFERRAL"])
    before = await counts(hub, *TABLES)
    for variables in (
        {"id": webhook_id},
        {"id": webhook_id, "topics": []},
        {"id": webhook_id, "url": "http://partner.example/hook"},
        {"id": webhook_id, "url": "ftp://127.0.0.1/hook"},
    ):
        result = await hub.gql("adhoc", UPDATE, variables)
        assert (result.codes, result.data) == (["BAD_USER_INPUT"], None), variables
    assert await counts(hub, *TABLES) == before


async def test_a_disabled_webhook_gets_nothing_and_resumes_from_when_it_is_enabled(
    hub: RunningHub,
) -> None:
    async with receiver() as partner, dispatcher(hub) as sender:
        webhook_id, _ = await create(hub, "mosavy", partner.url("m"), ["ORGANIZATION"])
        await issue(hub, "mosavy")
        partner.status["m"] = 500
        assert await sender.run_once(utcnow()) == (1, 1)  # one delivery left pending

        disabled = await ok(hub, "mosavy", DISABLE, {"id": webhook_id})
        assert disabled["disableWebhook"] == {"id": webhook_id, "enabled": False}
        again = await hub.gql("mosavy", DISABLE, {"id": webhook_id})
        assert again.codes == ["INVALID_TRANSITION"]
        await issue(hub, "mosavy")
        partner.status["m"] = 204
        later = utcnow() + timedelta(minutes=5)  # the retry is long due
        assert await sender.run_once(later) == (0, 0)  # nothing queued, nothing retried

        enabled = await ok(hub, "mosavy", ENABLE, {"id": webhook_id})
        assert enabled["enableWebhook"]["enabled"] is True
        await issue(hub, "mosavy")
        enqueued, tried = await sender.run_once(later)
        # The pending retry and the event after enabling; not what happened while disabled.
        assert (enqueued, tried) == (1, 2)
        assert [b["type"] for b in partner.bodies("m")] == ["REGISTRATION_TOKEN_ISSUED"] * 3
        assert await audited(hub, "webhook.disable", webhook_id) == 1
        assert await audited(hub, "webhook.enable", webhook_id) == 1


async def test_a_rotated_secret_signs_from_now_on_and_the_old_one_no_longer_verifies(
    hub: RunningHub,
) -> None:
    async with receiver() as partner, dispatcher(hub) as sender:
        webhook_id, old = await create(hub, "embassy-bangkok", partner.url("e"), ["ORGANIZATION"])

        rotated = (await ok(hub, "embassy-bangkok", ROTATE, {"id": webhook_id}))[
            "rotateWebhookSecret"
        ]

        new = rotated["signingSecret"]
        assert rotated["webhook"]["id"] == webhook_id and new != old and new.startswith("whsec_")
        assert await audited(hub, "webhook.rotate_secret", webhook_id) == 1
        sealed = await hub.scalar("SELECT secret_sealed FROM webhooks WHERE id = :i", i=webhook_id)
        assert new.removeprefix("whsec_") not in sealed
        assert await sender.run_once(utcnow()) == (1, 1)
        ((_, headers, body),) = partner.received
        assert Verifier(new).verify(body, headers)["type"] == "WEBHOOK_SECRET_ROTATED"
        with pytest.raises(WebhookVerificationError):
            Verifier(old).verify(body, headers)


async def test_a_deleted_webhook_is_gone_with_its_deliveries_and_the_audit_stays(
    hub: RunningHub,
) -> None:
    async with receiver() as partner, dispatcher(hub) as sender:
        webhook_id, _ = await create(hub, "ngo-malaysia", partner.url("d"), ["ORGANIZATION"])
        await issue(hub, "ngo-malaysia")
        assert await sender.run_once(utcnow()) == (1, 1)

        deleted = await ok(hub, "ngo-malaysia", DELETE, {"id": webhook_id})

        assert deleted == {"deleteWebhook": webhook_id}
        for table, column in (("webhooks", "id"), ("webhook_deliveries", "webhook_id")):
            found = await hub.scalar(
                f"SELECT COUNT(*) FROM {table} WHERE {column} = :i", i=webhook_id
            )
            assert found == 0, table
        assert await audited(hub, "webhook.delete", webhook_id) == 1
        listed = await ok(hub, "ngo-malaysia", "{ webhooks { id } }", {})
        assert listed == {"webhooks": []}
        await issue(hub, "ngo-malaysia")
        assert await sender.run_once(utcnow()) == (0, 0)
        gone = await hub.gql("ngo-malaysia", DELETE, {"id": webhook_id})
        assert gone.codes == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("query", "extra"),
    [
        (UPDATE, {"topics": ["CASE"]}),
        (DISABLE, {}),
        (ENABLE, {}),
        (DELETE, {}),
        (ROTATE, {}),
    ],
    ids=["update", "disable", "enable", "delete", "rotate"],
)
@pytest.mark.parametrize("caller", ["ngo-thailand", "secretariat"])
async def test_nobody_but_the_owner_can_touch_a_webhook(
    hub: RunningHub, query: str, extra: dict[str, Any], caller: str
) -> None:
    webhook_id, _ = await create(hub, "ccpcr-shelter", "http://127.0.0.1:9/hook", ["CASE"])
    before = await counts(hub, *TABLES)
    for target in (webhook_id, "00000000-0000-0000-0000-000000000000"):
        result = await hub.gql(caller, query, {"id": target, **extra})
        assert (result.codes, result.data) == (["NOT_FOUND"], None), target
    assert await counts(hub, *TABLES) == before
    row = await hub.scalar("SELECT enabled FROM webhooks WHERE id = :i", i=webhook_id)
    assert row in (True, 1)
