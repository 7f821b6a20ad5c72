"""Signed webhooks for partners that cannot hold a connection.

Deliveries follow Standard Webhooks (headers webhook-id, webhook-timestamp and
webhook-signature, HMAC-SHA256, signed with the `standardwebhooks` library), are retried
with exponential backoff and jitter for up to a day, then marked failed. Every attempt is
kept. Delivery runs in the background, in one process at a time, never in a request.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import os
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import SplitResult, urlsplit

import httpx
import orjson
from sqlalchemy import select, update
from standardwebhooks import Webhook as Signer

from notifications import egress
from notifications.models import Event, Webhook, WebhookAttempt, WebhookDelivery
from notifications.outbox import emit
from notifications.stream import EventTopic, may_still_see
from orgs.models import Organization
from orgs.principal import Principal
from orgs.rules import MembershipStatus
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
MAX_WEBHOOKS_PER_ORG = 10


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=2)
    give_up_after: timedelta = timedelta(days=1)
    timeout_seconds: float = 10.0

    def next_delay(self, attempts: int) -> timedelta:
        """Exponential, capped, with ±25 % jitter so retries of many hubs do not align."""
        base: timedelta = min(self.first_delay * (2 ** max(attempts - 1, 0)), self.max_delay)
        jittered: timedelta = base * (0.75 + random.random() / 2)  # noqa: S311
        return jittered


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, production: bool) -> str:
    """https only in production; plain http only to loopback, in development and tests."""
    parts = urlsplit(url.strip())
    if len(url) > 2000 or not parts.hostname or parts.username or parts.password:
        raise HubError(ErrorCode.BAD_USER_INPUT, "url must be an absolute https URL")
    if parts.scheme == "https":
        return url.strip()
    if parts.scheme == "http" and not production and _loopback(parts.hostname):
        return url.strip()
    raise HubError(
        ErrorCode.BAD_USER_INPUT,
        "url must use https (plain http is allowed to loopback in development only)",
    )


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def vet_url(url: str, production: bool) -> str:
    """``check_url``, and in production a host that resolves only to public addresses."""
    clean = check_url(url, production)
    if production:
        await egress.check_public_host(*host_and_port(clean))
    return clean


def _place(webhook_id: str) -> dict[str, str]:
    return {"table": "webhooks", "column": "secret", "row_id": webhook_id}


async def create_webhook(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    url: str,
    topics: Sequence[EventTopic],
    production: bool,
) -> tuple[Webhook, str]:
    """Register an endpoint for the actor's organisation; the signing secret is shown once."""
    org = actor.organization_id
    if org is None:
        raise HubError(ErrorCode.FORBIDDEN, "webhooks belong to member organisations")
    clean = await vet_url(url, production)
    if not topics:
        raise HubError(ErrorCode.BAD_USER_INPUT, "topics: name at least one topic")
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    webhook_id = str(uuid.uuid4())
    async with db.write() as session:
        count = len(
            list(await session.scalars(select(Webhook.id).where(Webhook.organization_id == org)))
        )
        if count >= MAX_WEBHOOKS_PER_ORG:
            raise HubError(ErrorCode.BAD_USER_INPUT, f"at most {MAX_WEBHOOKS_PER_ORG} webhooks")
        head = await session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
        webhook = Webhook(
            id=webhook_id,
            organization_id=org,
            url=clean,
            topics=sorted({t.value for t in topics}),
            secret_sealed=cipher.seal(secret, **_place(webhook_id)),
            enabled=True,
            last_event_id=head or 0,
            created_at=utcnow(),
        )
        session.add(webhook)
        await session.flush()
        created = await emit(
            session,
            topic="ORGANIZATION",
            type="WEBHOOK_CREATED",
            subject_id=webhook_id,
            actor_organization_id=org,
            audience=[org],
            payload={"webhookId": webhook_id, "topics": webhook.topics},
        )
        # Deliveries start after the webhook's own creation.
        webhook.last_event_id = created.id
        await record_audit(
            session,
            actor_organization_id=org,
            actor_client_id=actor.client_id,
            action="webhook.create",
            subject_type="Webhook",
            subject_id=webhook_id,
            detail={"topics": webhook.topics, "host": urlsplit(clean).hostname},
            request_id=actor.request_id,
        )
    return webhook, secret


async def webhooks_of(db: Database, actor: Principal) -> list[Webhook]:
    async with db.read() as session:
        return list(
            await session.scalars(
                select(Webhook)
                .where(Webhook.organization_id == actor.organization_id)
                .order_by(Webhook.created_at)
            )
        )


async def deliveries_of(
    db: Database, actor: Principal, webhook_id: str
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """Every delivery of one of the actor's webhooks, newest first, with every attempt."""
    async with db.read() as session:
        webhook = await session.get(Webhook, webhook_id)
        if webhook is None or webhook.organization_id != actor.organization_id:
            raise not_found("webhook")
        deliveries = list(
            await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.webhook_id == webhook_id)
                .order_by(WebhookDelivery.event_id.desc())
                .limit(500)
            )
        )
        attempts: dict[str, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
        if deliveries:
            for attempt in await session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_(list(attempts)))
                .order_by(WebhookAttempt.id)
            ):
                attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts[d.id]) for d in deliveries]


def _pinned_url(parts: SplitResult, address: egress.Address, port: int) -> str:
    literal = f"[{address}]" if address.version == 6 else str(address)
    return parts._replace(netloc=f"{literal}:{port}").geturl()


def event_body(event: Event) -> str:
    return orjson.dumps(
        {
            "id": str(event.id),
            "topic": event.topic,
            "type": event.type,
            "subjectId": event.subject_id,
            "actorOrganizationId": event.actor_organization_id,
            "occurredAt": event.occurred_at.isoformat(),
            "payload": event.payload,
        }
    ).decode()


class WebhookDispatcher:
    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        policy: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        *,
        public_only: bool = True,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.policy = policy or RetryPolicy()
        # No kept-alive connections: a pooled connection is matched by address only, and
        # must not carry a request for another host name than the one it was verified for.
        self.client = client or httpx.AsyncClient(
            timeout=self.policy.timeout_seconds,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.public_only = public_only

    async def enqueue(self, now: datetime) -> int:
        """Create a delivery for every new event each webhook's organisation may see."""
        created = 0
        async with self.db.read() as session:
            # A suspended owner's webhooks keep their place: their events are queued
            # after reinstatement, none skipped.
            hooks = list(
                await session.scalars(
                    select(Webhook)
                    .join(Organization, Organization.id == Webhook.organization_id)
                    .where(
                        Webhook.enabled.is_(True),
                        Organization.status == MembershipStatus.ACTIVE.value,
                    )
                )
            )
        for hook in hooks:
            async with self.db.write() as session:
                events = list(
                    await session.scalars(
                        select(Event)
                        .where(Event.id > hook.last_event_id, Event.topic.in_(hook.topics))
                        .order_by(Event.id)
                        .limit(500)
                    )
                )
                last = hook.last_event_id
                for event in events:
                    last = event.id
                    if hook.organization_id not in event.audience:
                        continue
                    if not await may_still_see(self.db, hook.organization_id, event):
                        continue
                    session.add(
                        WebhookDelivery(
                            id=str(uuid.uuid4()),
                            webhook_id=hook.id,
                            event_id=event.id,
                            status=PENDING,
                            attempts=0,
                            created_at=now,
                            next_attempt_at=now,
                        )
                    )
                    created += 1
                if last != hook.last_event_id:
                    await session.execute(
                        update(Webhook)
                        .where(Webhook.id == hook.id)
                        .values(last_event_id=last)
                        .execution_options(synchronize_session=False)
                    )
        return created

    async def attempt_due(self, now: datetime) -> int:
        """Try every delivery that is due; the number tried."""
        async with self.db.read() as session:
            due = list(
                await session.execute(
                    select(WebhookDelivery, Webhook, Event)
                    .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                    .join(Event, Event.id == WebhookDelivery.event_id)
                    .join(Organization, Organization.id == Webhook.organization_id)
                    .where(
                        WebhookDelivery.status == PENDING,
                        WebhookDelivery.next_attempt_at <= now,
                        Webhook.enabled.is_(True),
                        Organization.status == MembershipStatus.ACTIVE.value,
                    )
                    .order_by(WebhookDelivery.event_id)
                    .limit(200)
                )
            )
        limit = asyncio.Semaphore(10)

        async def one(delivery: WebhookDelivery, hook: Webhook, event: Event) -> None:
            async with limit:
                await self._attempt(delivery, hook, event, now)

        await asyncio.gather(*(one(d, h, e) for d, h, e in due))
        return len(due)

    async def _attempt(
        self, delivery: WebhookDelivery, hook: Webhook, event: Event, now: datetime
    ) -> None:
        body = event_body(event)
        secret = self.cipher.open(hook.secret_sealed, **_place(hook.id))
        signature = Signer(secret).sign(delivery.id, now, body)
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
            "user-agent": "referral-hub-webhooks",
        }
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            status_code = await self._post(hook.url, body, headers)
        except egress.EgressRefused:
            error = "EgressRefused"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        duration = int((time.monotonic() - started) * 1000)
        ok = status_code is not None and 200 <= status_code < 300
        attempts = delivery.attempts + 1
        values: dict[str, object] = {"attempts": attempts}
        if ok:
            values.update(status=DELIVERED, delivered_at=now)
        elif now - delivery.created_at >= self.policy.give_up_after:
            values.update(status=FAILED)
        else:
            values.update(next_attempt_at=now + self.policy.next_delay(attempts))
        async with self.db.write() as session:
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    at=now,
                    status_code=status_code,
                    error=error,
                    duration_ms=duration,
                )
            )
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def _post(self, url: str, body: str, headers: dict[str, str]) -> int:
        """POST to the address the host resolves to now, vetted; the status code.

        The request goes to the IP literal, with the URL's host in the Host header and as
        the TLS server name (certificate checked against it), so DNS is asked once.
        """
        parts = urlsplit(url)
        host, port = host_and_port(url)
        addresses = await egress.resolve(host, port)
        if self.public_only:
            egress.vet(addresses)
        if not addresses:
            raise httpx.ConnectError("the host does not resolve")
        pinned = _pinned_url(parts, addresses[0], port)
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        response = await self.client.post(
            pinned,
            content=body,
            headers={**headers, "host": parts.netloc.rpartition("@")[2]},
            extensions=extensions,
        )
        return response.status_code

    async def run_once(self, now: datetime | None = None) -> tuple[int, int]:
        moment = now or utcnow()
        return await self.enqueue(moment), await self.attempt_due(moment)

    async def close(self) -> None:
        await self.client.aclose()
