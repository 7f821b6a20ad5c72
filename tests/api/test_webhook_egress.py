"""In production a webhook reaches only the public internet, checked at creation and again
at every delivery, connecting to the address that was checked; deliveries wait while the
owner is suspended and all arrive after reinstatement."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook as Verifier

from gateway.settings import Environment
from notifications import egress
from notifications.webhooks import RetryPolicy, WebhookDispatcher
from store.types import utcnow
from tests.api.event_support import counts, ok
from tests.api.registration_support import ISSUE
from tests.api.test_webhooks import CREATE, create, deliveries, dispatcher, fake_dns, receiver
from tests.network import RunningHub, Template, serve_hub

UPDATE = (
    "mutation($id: ID!, $url: String) "
    "{ updateWebhook(id: $id, input: {url: $url}) { id url topics } }"
)
SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }'
REINSTATE = 'mutation($id: ID!) { reinstateOrganization(id: $id, reason: "cleared") { status } }'

INSIDE = [
    "https://127.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[64:ff9b::a9fe:a9fe]/hook",
    "https://0.0.0.0/hook",
    "https://100.64.0.1/hook",
    "https://intranet.partner.example/hook",  # resolves to a private address
    "https://mixed.partner.example/hook",  # one public and one private answer
    "https://nowhere.partner.example/hook",  # does not resolve
]
DNS = {
    "partner.example": ["93.184.215.14"],
    "intranet.partner.example": ["192.168.10.5"],
    "mixed.partner.example": ["93.184.215.14", "10.20.30.40"],
}


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The resolver the hub uses, answering from a table a test may change."""
    table = {name: list(addresses) for name, addresses in DNS.items()}
    monkeypatch.setattr(egress, "resolve", fake_dns(table))
    return table


async def test_production_refuses_webhooks_into_private_networks(
    template: Template, dns: dict[str, list[str]]
) -> None:
    async with serve_hub(template, env=Environment.PRODUCTION) as hub:
        before = await counts(hub, "webhooks", "audit", "events")
        for url in INSIDE:
            refused = await hub.gql(
                "ngo-thailand", CREATE, {"url": url, "topics": ["ORGANIZATION"]}
            )
            assert (refused.codes, refused.data) == (["BAD_USER_INPUT"], None), url
            assert "public internet" in refused.errors[0]["message"], url
        assert await counts(hub, "webhooks", "audit", "events") == before

        # A public host is accepted, and cannot then be moved inside.
        webhook_id, _ = await create(
            hub, "ngo-thailand", "https://partner.example/hook", ["ORGANIZATION"]
        )
        middle = await counts(hub, "webhooks", "audit", "events")
        for url in INSIDE[:3]:
            moved = await hub.gql("ngo-thailand", UPDATE, {"id": webhook_id, "url": url})
            assert (moved.codes, moved.data) == (["BAD_USER_INPUT"], None), url
        assert await counts(hub, "webhooks", "audit", "events") == middle
        stored = await hub.scalar("SELECT url FROM webhooks WHERE id = :id", id=webhook_id)
        assert stored == "https://partner.example/hook"


async def test_a_host_that_turns_private_after_creation_gets_nothing(
    hub: RunningHub, dns: dict[str, list[str]]
) -> None:
    async with receiver() as inside:
        port = inside.base_url.rsplit(":", 1)[1]
        # Given a webhook whose host was public when it was registered
        webhook_id, _ = await create(hub, "secretariat", inside.url("x"), ["ORGANIZATION"])
        url = f"http://rebind.partner.example:{port}/hook/x"
        await _set_url(hub, webhook_id, url)
        dns["rebind.partner.example"] = ["93.184.215.14"]
        # When the host now resolves to loopback, where something listens
        dns["rebind.partner.example"] = ["127.0.0.1"]
        await ok(hub, "secretariat", ISSUE, {"org": hub.members["adhoc"].organization_id})
        sender = WebhookDispatcher(hub.db, hub.app.state.hub.cipher, RetryPolicy())
        try:
            assert await sender.run_once(utcnow()) == (1, 1)
        finally:
            await sender.close()
        # Then the hub did not connect, and the owner sees only a network error
        assert inside.received == []
        (delivery,) = await deliveries(hub, "secretariat", webhook_id)
        assert delivery["status"] == "PENDING"
        assert [a["result"] for a in delivery["attempts"]] == ["NETWORK_ERROR"]


async def test_a_delivery_connects_to_the_address_resolved_and_keeps_the_host_name(
    hub: RunningHub, dns: dict[str, list[str]]
) -> None:
    lookups: list[str] = []
    answer = fake_dns(dns)

    async def counting(host: str, port: int) -> list[egress.Address]:
        lookups.append(host)
        found: list[egress.Address] = await answer(host, port)
        return found

    async with receiver() as partner, dispatcher(hub) as sender:
        port = partner.base_url.rsplit(":", 1)[1]
        webhook_id, secret = await create(hub, "secretariat", partner.url("p"), ["ORGANIZATION"])
        await _set_url(hub, webhook_id, f"http://hooks.partner.example:{port}/hook/p")
        dns["hooks.partner.example"] = ["127.0.0.1"]
        await ok(hub, "secretariat", ISSUE, {"org": hub.members["adhoc"].organization_id})
        egress_resolve = egress.resolve
        egress.resolve = counting  # type: ignore[assignment]
        try:
            assert await sender.run_once(utcnow()) == (1, 1)
        finally:
            egress.resolve = egress_resolve  # type: ignore[assignment]
        assert lookups == ["hooks.partner.example"]  # asked once, and that answer was used
        ((name, headers, body),) = partner.received
        assert name == "p"
        assert headers["host"] == f"hooks.partner.example:{port}"
        assert Verifier(secret).verify(body, headers)["type"] == "REGISTRATION_TOKEN_ISSUED"


async def test_https_deliveries_name_the_host_for_tls_and_follow_no_redirect(
    hub: RunningHub, dns: dict[str, list[str]]
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(308, headers={"location": "https://127.0.0.1/elsewhere"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer), follow_redirects=False)
    sender = WebhookDispatcher(hub.db, hub.app.state.hub.cipher, RetryPolicy(), client)
    webhook_id, _ = await create(hub, "secretariat", "https://127.0.0.1/hook", ["ORGANIZATION"])
    await _set_url(hub, webhook_id, "https://partner.example/hook?x=1")
    await ok(hub, "secretariat", ISSUE, {"org": hub.members["adhoc"].organization_id})
    try:
        assert await sender.run_once(utcnow()) == (1, 1)
    finally:
        await sender.close()
    (request,) = seen  # the redirect was not followed
    assert str(request.url) == "https://93.184.215.14/hook?x=1"
    assert request.headers["host"] == "partner.example"
    assert request.extensions["sni_hostname"] == "partner.example"
    (delivery,) = await deliveries(hub, "secretariat", webhook_id)
    assert [a["result"] for a in delivery["attempts"]] == ["REDIRECT_3XX"]


async def test_deliveries_wait_while_the_owner_is_suspended_and_all_arrive_after(
    hub: RunningHub,
) -> None:
    ngo = hub.members["ngo-thailand"]
    async with receiver() as partner, dispatcher(hub) as sender:
        partner.status["n"] = 503
        webhook_id, _ = await create(hub, "ngo-thailand", partner.url("n"), ["ORGANIZATION"])
        # One event is tried before the suspension and fails
        await ok(hub, "secretariat", ISSUE, {"org": ngo.organization_id})
        start = utcnow()
        assert await sender.run_once(start) == (1, 1)
        await ok(hub, "secretariat", SUSPEND, {"id": ngo.organization_id})
        await ok(hub, "secretariat", ISSUE, {"org": ngo.organization_id})

        # While suspended, nothing is queued or sent, however long it lasts
        partner.status["n"] = 204
        later = start + timedelta(hours=3)
        assert await sender.run_once(later) == (0, 0)
        assert len(partner.received) == 1

        await ok(hub, "secretariat", REINSTATE, {"id": ngo.organization_id})
        assert await sender.run_once(later + timedelta(minutes=1)) == (3, 4)
        types = [body["type"] for body in partner.bodies("n")]
        assert types == [
            "REGISTRATION_TOKEN_ISSUED",
            "REGISTRATION_TOKEN_ISSUED",
            "ORGANIZATION_SUSPENDED",
            "REGISTRATION_TOKEN_ISSUED",
            "ORGANIZATION_REINSTATED",
        ]
        statuses = await hub.scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = :id AND status = 'DELIVERED'",
            id=webhook_id,
        )
        assert statuses == 4


async def _set_url(hub: RunningHub, webhook_id: str, url: str) -> None:
    """Point a webhook at a host name the test's resolver answers for (development only
    accepts plain http to loopback literals through the API)."""
    async with hub.db.write() as session:
        await session.execute(
            text("UPDATE webhooks SET url = :u WHERE id = :id"), {"u": url, "id": webhook_id}
        )
