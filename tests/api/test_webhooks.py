"""Partners that cannot hold a connection get signed webhooks: verifiable, retried for a day,
only their own events, never survivor data, and the signing secret is never kept in clear."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import uvicorn
from sqlalchemy import text
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.settings import Environment
from notifications import egress
from notifications.webhooks import RetryPolicy, WebhookDispatcher, check_url
from store.errors import ErrorCode, HubError
from store.types import utcnow
from tests.api.event_support import CASE_STATUS, counts, flip, head, ok, refer, visible_ids
from tests.api.test_cases_flow import SURVIVOR
from tests.network import RunningHub, Template, serve_hub

CREATE = (
    "mutation($url: String!, $topics: [EventTopic!]!) "
    "{ createWebhook(input: {url: $url, topics: $topics}) { webhook { id url topics } signingSecret } }"
)
DELIVERIES = (
    "query($id: ID!) { webhookDeliveries(webhookId: $id) "
    "{ id eventId status nextAttemptAt deliveredAt attempts { at result durationMs } } }"
)
ALL_TOPICS = ["ORGANIZATION", "CASE", "REFERRAL", "REPATRIATION", "CONSENT"]


@dataclass
class Receiver:
    """A partner's HTTP endpoint on loopback: `/hook/<name>` answers `status[name]` (or 204)."""

    base_url: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, name: str) -> str:
        return f"{self.base_url}/hook/{name}"

    def bodies(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(body) for who, _, body in self.received if who == name]


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    found = Receiver(f"http://127.0.0.1:{sock.getsockname()[1]}")

    async def receive(request: Request) -> Response:
        name = request.path_params["name"]
        found.received.append((name, dict(request.headers), await request.body()))
        if name in found.hang:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await found.release.wait()
        return Response(status_code=found.status.get(name, 204))

    app = Starlette(routes=[Route("/hook/{name}", receive, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield found
    finally:
        found.release.set()
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def dispatcher(
    hub: RunningHub, policy: RetryPolicy | None = None
) -> AsyncIterator[WebhookDispatcher]:
    # The receivers listen on loopback, which only development may reach.
    running = WebhookDispatcher(
        hub.db, hub.app.state.hub.cipher, policy or RetryPolicy(), public_only=False
    )
    try:
        yield running
    finally:
        await running.close()


async def create(hub: RunningHub, member: str, url: str, topics: list[str]) -> tuple[str, str]:
    data = (await ok(hub, member, CREATE, {"url": url, "topics": topics}))["createWebhook"]
    return data["webhook"]["id"], data["signingSecret"]


async def deliveries(hub: RunningHub, member: str, webhook_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await ok(hub, member, DELIVERIES, {"id": webhook_id}))[
        "webhookDeliveries"
    ]
    return found


def fake_dns(answers: dict[str, list[str]]) -> Any:
    """A resolver that answers from ``answers`` (and IP literals as themselves)."""

    async def resolve(host: str, port: int) -> list[egress.Address]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            return [ipaddress.ip_address(a) for a in answers.get(host, [])]

    return resolve


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_partner_verifies_each_delivery_and_spots_a_tampered_one(hub: RunningHub) -> None:
    beijing = hub.members["embassy-beijing"].organization_id
    async with receiver() as partner, dispatcher(hub) as sender:
        webhook_id, secret = await create(
            hub, "secretariat", partner.url("coordination"), ["ORGANIZATION"]
        )
        await flip(hub, "embassy-beijing", 1)
        assert await sender.run_once(utcnow()) == (1, 1)

    (_, headers, body) = partner.received[0]
    payload = Verifier(secret).verify(body, headers)
    assert payload["id"] == str(await head(hub))
    assert (payload["topic"], payload["type"], payload["subjectId"]) == (
        "ORGANIZATION",
        "ORGANIZATION_SUSPENDED",
        beijing,
    )
    (delivery,) = await deliveries(hub, "secretariat", webhook_id)
    assert headers["webhook-id"] == delivery["id"] and delivery["status"] == "DELIVERED"

    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(body.replace(b"SUSPENDED", b"REINSTATED"), headers)
    with pytest.raises(WebhookVerificationError):
        Verifier("whsec_" + "A" * 43 + "=").verify(body, headers)


async def test_a_failing_receiver_is_retried_with_growing_delays_for_a_day_then_given_up(
    hub: RunningHub,
) -> None:
    policy = RetryPolicy()
    async with receiver() as partner, dispatcher(hub, policy) as sender:
        partner.status["down"] = 500
        webhook_id, _ = await create(hub, "secretariat", partner.url("down"), ["ORGANIZATION"])
        await flip(hub, "embassy-beijing", 1)
        start = utcnow()
        assert await sender.run_once(start) == (1, 1)
        (delivery,) = await deliveries(hub, "secretariat", webhook_id)
        first_retry = at(delivery["nextAttemptAt"]) - start
        assert timedelta(seconds=22.5) <= first_retry <= timedelta(seconds=37.5)

        # Not before it is due.
        assert await sender.run_once(start + first_retry - timedelta(seconds=1)) == (0, 0)
        assert len(partner.received) == 1

        moments = [start]
        while delivery["status"] == "PENDING" and len(moments) < 60:
            now = at(delivery["nextAttemptAt"])
            assert await sender.run_once(now) == (0, 1)
            moments.append(now)
            (delivery,) = await deliveries(hub, "secretariat", webhook_id)
        assert delivery["status"] == "FAILED" and delivery["deliveredAt"] is None
        assert moments[-2] - start < policy.give_up_after <= moments[-1] - start

        for n, (before, after) in enumerate(itertools.pairwise(moments), start=1):
            base = min(policy.first_delay * 2 ** (n - 1), policy.max_delay)
            assert base * 0.75 <= after - before <= base * 1.25, (n, after - before)
        # Every attempt is on record, newest last, and went to the partner with one id.
        assert [(at(a["at"]), a["result"]) for a in delivery["attempts"]] == [
            (m, "SERVER_ERROR_5XX") for m in moments
        ]
        assert len(partner.received) == len(moments)
        assert {headers["webhook-id"] for _, headers, _ in partner.received} == {delivery["id"]}

        assert await sender.run_once(start + timedelta(days=3)) == (0, 0)
        assert len(partner.received) == len(moments)


async def test_a_receiver_that_hangs_is_recorded_as_an_error_without_a_status(
    hub: RunningHub,
) -> None:
    async with receiver() as partner, dispatcher(hub, RetryPolicy(timeout_seconds=0.5)) as sender:
        partner.hang.add("slow")
        webhook_id, _ = await create(hub, "secretariat", partner.url("slow"), ["ORGANIZATION"])
        await flip(hub, "embassy-beijing", 1)
        start = utcnow()
        assert await sender.run_once(start) == (1, 1)
        (delivery,) = await deliveries(hub, "secretariat", webhook_id)
        assert delivery["status"] == "PENDING"
        (attempt,) = delivery["attempts"]
        # The owner learns the class of the failure, not the error text.
        assert set(attempt) == {"at", "result", "durationMs"}
        assert attempt["result"] == "NETWORK_ERROR"
        assert 400 <= attempt["durationMs"] < 5000

        partner.hang.clear()  # the partner is back: the retry goes through
        assert await sender.run_once(at(delivery["nextAttemptAt"])) == (0, 1)
        (delivery,) = await deliveries(hub, "secretariat", webhook_id)
        assert delivery["status"] == "DELIVERED"
        assert [a["result"] for a in delivery["attempts"]] == ["NETWORK_ERROR", "SUCCESS_2XX"]


async def test_production_accepts_only_https_webhooks(
    template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(egress, "resolve", fake_dns({"partner.example": ["93.184.215.14"]}))
    async with serve_hub(template, env=Environment.PRODUCTION) as hub:
        before = await counts(hub, "webhooks", "audit")
        for url in (
            "http://partner.example/hook",
            "http://127.0.0.1:9/hook",
            "ftp://partner.example/hook",
        ):
            refused = await hub.gql("secretariat", CREATE, {"url": url, "topics": ["ORGANIZATION"]})
            assert (refused.codes, refused.data) == (["BAD_USER_INPUT"], None), url
        assert await counts(hub, "webhooks", "audit") == before
        webhook_id, _ = await create(
            hub, "secretariat", "https://partner.example/hook", ["ORGANIZATION"]
        )
        assert (
            await hub.scalar("SELECT url FROM webhooks WHERE id = :id", id=webhook_id)
            == "https://partner.example/hook"
        )
    with pytest.raises(HubError) as refused_here:
        check_url("http://localhost:8080/hook", production=True)
    assert refused_here.value.code == ErrorCode.BAD_USER_INPUT


async def test_development_allows_plain_http_only_to_loopback(hub: RunningHub) -> None:
    before = await counts(hub, "webhooks", "audit")
    refused = await hub.gql(
        "secretariat", CREATE, {"url": "http://example.org/hook", "topics": ["ORGANIZATION"]}
    )
    assert (refused.codes, refused.data) == (["BAD_USER_INPUT"], None)
    assert await counts(hub, "webhooks", "audit") == before
    await create(hub, "secretariat", "http://127.0.0.1:9/hook", ["ORGANIZATION"])
    assert await counts(hub, "webhooks", "audit") == {t: n + 1 for t, n in before.items()}


async def test_each_organisation_gets_only_its_own_events_and_never_survivor_data(
    hub: RunningHub,
) -> None:
    members = ["secretariat", "ccpcr-koh-kong", "adhoc", "ngo-malaysia"]
    async with receiver() as partner, dispatcher(hub) as sender:
        for member in members:
            await create(hub, member, partner.url(member), ALL_TOPICS)
        cursor = await head(hub)
        case_id, referral = await refer(
            hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "kk-adhoc-hook"
        )
        await ok(
            hub,
            "adhoc",
            "mutation($id: ID!) { acknowledgeReferral(id: $id) { status } }",
            {"id": referral},
        )
        await ok(hub, "ccpcr-koh-kong", CASE_STATUS, {"id": case_id, "status": "IN_CARE"})
        await flip(hub, "embassy-beijing", 1)
        expected = {m: await visible_ids(hub, m, cursor) for m in members}
        assert expected["ngo-malaysia"] == [] and all(expected[m] for m in members[:3])

        enqueued, tried = await sender.run_once(utcnow())
        assert enqueued == tried == sum(len(v) for v in expected.values())

    for member in members:
        assert sorted(int(b["id"]) for b in partner.bodies(member)) == expected[member], member
    secrets = [*SURVIVOR.values(), "arrived from Thailand border", "wants to file a complaint"]
    for _, _, body in partner.received:
        assert set(json.loads(body)) == {
            "id",
            "topic",
            "type",
            "subjectId",
            "actorOrganizationId",
            "occurredAt",
            "payload",
        }
        assert not [s for s in secrets if str(s).encode() in body], body


async def test_the_signing_secret_is_shown_once_and_never_stored_in_clear(hub: RunningHub) -> None:
    webhook_id, secret = await create(
        hub, "secretariat", "http://127.0.0.1:9/hook", ["ORGANIZATION"]
    )
    key = secret.removeprefix("whsec_")
    stored: list[str] = []
    async with hub.db.read() as session:
        for table, column in (("webhooks", "id"), ("audit", "subject_id")):
            rows = await session.execute(
                text(f"SELECT * FROM {table} WHERE {column} = :id"), {"id": webhook_id}
            )
            stored += [str(value) for row in rows for value in row]
    assert len(stored) > 8 and not [v for v in stored if secret in v or key in v or key[:16] in v]
    listed = await ok(hub, "secretariat", "{ webhooks { id url topics enabled } }", {})
    assert key not in json.dumps(listed)
