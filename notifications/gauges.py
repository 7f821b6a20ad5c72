"""Numbers an operator watches about delivery: the webhook backlog and failures, and how far
the event pump is behind the outbox. Read at scrape time, from the database all processes
share, so every process reports the same backlog."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from notifications.models import WebhookAttempt, WebhookDelivery
from notifications.pump import EventPump
from store.engine import Database


@dataclass(frozen=True, slots=True)
class DeliveryGauges:
    deliveries: dict[str, int]  # by status: PENDING is the queue, FAILED gave up
    failed_attempts: int  # attempts answered with an error or a non-2xx status
    pump_lag_events: int  # events committed that this process has not fanned out yet


async def delivery_gauges(db: Database, pump: EventPump) -> DeliveryGauges:
    async with db.read() as session:
        rows = await session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        )
        deliveries = {str(status): int(count) for status, count in rows.all()}
        failed = await session.scalar(
            select(func.count())
            .select_from(WebhookAttempt)
            .where(
                or_(
                    WebhookAttempt.status_code.is_(None),
                    WebhookAttempt.status_code < 200,
                    WebhookAttempt.status_code >= 300,
                )
            )
        )
    head = await pump.head()
    return DeliveryGauges(deliveries, int(failed or 0), max(0, head - pump.last_id))
