"""Webhooks in GraphQL: translation only."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry.types import Info

from notifications import webhooks as service
from notifications.models import Webhook as WebhookRow
from notifications.stream import EventTopic
from schema.context import HubContext
from schema.permissions import requires


@strawberry.type
class Webhook:
    id: strawberry.ID
    url: str
    topics: list[EventTopic]
    enabled: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookRow) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            url=row.url,
            topics=[EventTopic(t) for t in row.topics],
            enabled=row.enabled,
            created_at=row.created_at,
        )


@strawberry.type(description="A new webhook and its signing secret, shown this once only.")
class WebhookCreated:
    webhook: Webhook
    signing_secret: str


@strawberry.type
class WebhookAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="Sent as the webhook-id header.")
    event_id: str
    status: str = strawberry.field(description="PENDING, DELIVERED or FAILED (after a day).")
    next_attempt_at: datetime
    delivered_at: datetime | None
    attempts: list[WebhookAttempt]


@strawberry.input
class CreateWebhookInput:
    url: str
    topics: list[EventTopic]


_SUBSCRIBE = [requires("events:subscribe")]


@strawberry.type
class WebhookQueries:
    @strawberry.field(permission_classes=_SUBSCRIBE)
    async def webhooks(self, info: Info[HubContext, None]) -> list[Webhook]:
        rows = await service.webhooks_of(info.context.db, info.context.actor)
        return [Webhook.from_row(r) for r in rows]

    @strawberry.field(permission_classes=_SUBSCRIBE, description="Every attempt, newest first.")
    async def webhook_deliveries(
        self, info: Info[HubContext, None], webhook_id: strawberry.ID
    ) -> list[WebhookDelivery]:
        found = await service.deliveries_of(info.context.db, info.context.actor, str(webhook_id))
        return [
            WebhookDelivery(
                id=strawberry.ID(d.id),
                event_id=str(d.event_id),
                status=d.status,
                next_attempt_at=d.next_attempt_at,
                delivered_at=d.delivered_at,
                attempts=[
                    WebhookAttempt(
                        at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms
                    )
                    for a in attempts
                ],
            )
            for d, attempts in found
        ]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(permission_classes=_SUBSCRIBE)
    async def create_webhook(
        self, info: Info[HubContext, None], input: CreateWebhookInput
    ) -> WebhookCreated:
        ctx = info.context
        row, secret = await service.create_webhook(
            ctx.db, ctx.actor, ctx.cipher, input.url, input.topics, ctx.production
        )
        return WebhookCreated(webhook=Webhook.from_row(row), signing_secret=secret)
