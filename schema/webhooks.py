"""Webhooks in GraphQL: translation only."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry.types import Info

from notifications import webhook_owner as owner
from notifications import webhooks as service
from notifications.models import Webhook as WebhookRow
from notifications.stream import EventTopic
from notifications.webhook_owner import AttemptResult
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


strawberry.enum(
    AttemptResult,
    name="WebhookAttemptResult",
    description="The class of the receiver's answer; a refused address or a timeout is a "
    "NETWORK_ERROR. Nothing more of the answer is shown.",
)


@strawberry.type(description="One try: when, how long, and the class of the answer.")
class WebhookAttempt:
    at: datetime
    result: AttemptResult
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


@strawberry.input(description="What to change; a field left out stays as it is.")
class UpdateWebhookInput:
    url: str | None = None
    topics: list[EventTopic] | None = None


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
                        at=a.at,
                        result=owner.attempt_result(a.status_code),
                        duration_ms=a.duration_ms,
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

    @strawberry.mutation(permission_classes=_SUBSCRIBE)
    async def update_webhook(
        self, info: Info[HubContext, None], id: strawberry.ID, input: UpdateWebhookInput
    ) -> Webhook:
        ctx = info.context
        row = await owner.update_webhook(
            ctx.db, ctx.actor, str(id), input.url, input.topics, ctx.production
        )
        return Webhook.from_row(row)

    @strawberry.mutation(permission_classes=_SUBSCRIBE, description="Stop queueing and sending.")
    async def disable_webhook(self, info: Info[HubContext, None], id: strawberry.ID) -> Webhook:
        row = await owner.set_webhook_enabled(info.context.db, info.context.actor, str(id), False)
        return Webhook.from_row(row)

    @strawberry.mutation(permission_classes=_SUBSCRIBE, description="Send again, from now on.")
    async def enable_webhook(self, info: Info[HubContext, None], id: strawberry.ID) -> Webhook:
        row = await owner.set_webhook_enabled(info.context.db, info.context.actor, str(id), True)
        return Webhook.from_row(row)

    @strawberry.mutation(permission_classes=_SUBSCRIBE, description="The id of the deleted one.")
    async def delete_webhook(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> strawberry.ID:
        gone = await owner.delete_webhook(info.context.db, info.context.actor, str(id))
        return strawberry.ID(gone)

    @strawberry.mutation(
        permission_classes=_SUBSCRIBE,
        description="A new signing secret, shown this once; the old one stops at once.",
    )
    async def rotate_webhook_secret(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> WebhookCreated:
        ctx = info.context
        row, secret = await owner.rotate_webhook_secret(ctx.db, ctx.actor, ctx.cipher, str(id))
        return WebhookCreated(webhook=Webhook.from_row(row), signing_secret=secret)
