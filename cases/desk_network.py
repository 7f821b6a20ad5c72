"""The network's health for the coordinator's desk: organisations that acknowledge late,
webhooks that keep failing, API clients unused or due for rotation. Metadata only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select

from cases.desk_rules import (
    AcknowledgementRecord,
    AcknowledgementSummary,
    ClientConcern,
    ClientPolicy,
    client_concerns,
    key_expires_at,
    summarise_acknowledgements,
)
from cases.intervention_models import InterventionChange, InterventionRequest
from cases.models import Referral, ReferralChange, RepatriationChange, RepatriationRequest
from notifications.models import Webhook, WebhookAttempt, WebhookDelivery
from notifications.webhooks import FAILED, PENDING
from orgs.models import ApiClient
from store.audit import AuditEntry
from store.engine import Database

_ACK = "ACKNOWLEDGE"


def _acknowledged(since: datetime) -> list[Select[str, datetime, datetime, datetime]]:
    """Each acknowledgement in the window: who owed it, when the item was sent, when it
    was due, when it came."""
    return [
        select(
            Referral.receiver_organization_id,
            Referral.created_at,
            Referral.acknowledge_by,
            ReferralChange.at,
        )
        .join(Referral, Referral.id == ReferralChange.referral_id)
        .where(ReferralChange.action == _ACK, ReferralChange.at >= since),
        select(
            RepatriationRequest.embassy_organization_id,
            RepatriationRequest.created_at,
            RepatriationRequest.acknowledge_by,
            RepatriationChange.at,
        )
        .join(RepatriationRequest, RepatriationRequest.id == RepatriationChange.request_id)
        .where(RepatriationChange.action == _ACK, RepatriationChange.at >= since),
        select(
            InterventionRequest.embassy_organization_id,
            InterventionRequest.created_at,
            InterventionRequest.acknowledge_by,
            InterventionChange.at,
        )
        .join(InterventionRequest, InterventionRequest.id == InterventionChange.request_id)
        .where(InterventionChange.action == _ACK, InterventionChange.at >= since),
    ]


async def late_acknowledgers(
    db: Database, now: datetime, window: timedelta
) -> list[AcknowledgementSummary]:
    """Organisations that acknowledged referrals, repatriation or intervention requests late
    in the window (or owe one now, past its deadline), with their times to acknowledge."""
    queries = _acknowledged(now - window)
    records: list[AcknowledgementRecord] = []
    waiting: dict[str, int] = {}
    async with db.read() as session:
        for query in queries:
            for org, created, due, at in (await session.execute(query)).all():
                records.append(AcknowledgementRecord(org, (at - created).total_seconds(), at > due))
        owing: list[Select[str, int]] = [
            select(Referral.receiver_organization_id, func.count())
            .where(Referral.status == "SENT", Referral.acknowledge_by < now)
            .group_by(Referral.receiver_organization_id),
            select(RepatriationRequest.embassy_organization_id, func.count())
            .where(
                RepatriationRequest.status == "SUBMITTED", RepatriationRequest.acknowledge_by < now
            )
            .group_by(RepatriationRequest.embassy_organization_id),
            select(InterventionRequest.embassy_organization_id, func.count())
            .where(
                InterventionRequest.status == "SUBMITTED", InterventionRequest.acknowledge_by < now
            )
            .group_by(InterventionRequest.embassy_organization_id),
        ]
        for owed in owing:
            for org, count in (await session.execute(owed)).all():
                waiting[org] = waiting.get(org, 0) + int(count)
    return summarise_acknowledgements(records, waiting)


@dataclass(frozen=True, slots=True)
class FailingWebhook:
    """A webhook whose deliveries fail: how many, since when. Not its address or secret."""

    webhook_id: str
    organization_id: str
    enabled: bool
    failed_deliveries: int
    retrying_deliveries: int
    last_attempt_at: datetime | None
    last_status_code: int | None


async def failing_webhooks(db: Database, now: datetime, window: timedelta) -> list[FailingWebhook]:
    """Webhooks with a delivery that failed for good, or is still being retried after a
    failed attempt, among deliveries created in the window."""
    since = now - window
    async with db.read() as session:
        counts = (
            await session.execute(
                select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count())
                .where(
                    WebhookDelivery.created_at >= since,
                    WebhookDelivery.status.in_([FAILED, PENDING]),
                    WebhookDelivery.attempts > 0,
                )
                .group_by(WebhookDelivery.webhook_id, WebhookDelivery.status)
            )
        ).all()
        by_hook: dict[str, dict[str, int]] = {}
        for hook_id, status, count in counts:
            by_hook.setdefault(hook_id, {})[status] = int(count)
        if not by_hook:
            return []
        hooks = list(await session.scalars(select(Webhook).where(Webhook.id.in_(list(by_hook)))))
        last: dict[str, tuple[datetime, int | None]] = {}
        attempts = await session.execute(
            select(WebhookDelivery.webhook_id, WebhookAttempt.at, WebhookAttempt.status_code)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
            .where(WebhookDelivery.webhook_id.in_(list(by_hook)), WebhookAttempt.at >= since)
        )
        for hook_id, at, code in attempts.all():
            if hook_id not in last or at > last[hook_id][0]:
                last[hook_id] = (at, code)
    failing = [
        FailingWebhook(
            webhook_id=h.id,
            organization_id=h.organization_id,
            enabled=h.enabled,
            failed_deliveries=by_hook[h.id].get(FAILED, 0),
            retrying_deliveries=by_hook[h.id].get(PENDING, 0),
            last_attempt_at=last.get(h.id, (None, None))[0],
            last_status_code=last.get(h.id, (None, None))[1],
        )
        for h in hooks
    ]
    failing.sort(key=lambda f: (-f.failed_deliveries, -f.retrying_deliveries, f.webhook_id))
    return failing


@dataclass(frozen=True, slots=True)
class ClientAttention:
    client_id: str
    organization_id: str
    name: str
    created_at: datetime
    last_token_at: datetime | None
    key_rotated_at: datetime | None
    key_expires_at: datetime
    concerns: list[ClientConcern]


async def clients_needing_attention(
    db: Database, now: datetime, policy: ClientPolicy
) -> list[ClientAttention]:
    """Enabled clients that are unused, never rotated, or whose key is near its rotation date."""
    async with db.read() as session:
        clients = list(await session.scalars(select(ApiClient).where(ApiClient.enabled.is_(True))))
        # A private_key_jwt client rotates by registering new keys: the audit trail says when.
        keys_at: dict[str, datetime] = {
            client_id: at
            for client_id, at in (
                await session.execute(
                    select(AuditEntry.subject_id, func.max(AuditEntry.at))
                    .where(AuditEntry.action == "client.register_keys")
                    .group_by(AuditEntry.subject_id)
                )
            ).all()
        }
    found = []
    for c in clients:
        rotated = max(
            (t for t in (c.secret_rotated_at, keys_at.get(c.client_id)) if t is not None),
            default=None,
        )
        concerns = client_concerns(
            created_at=c.created_at,
            rotated_at=rotated,
            last_token_at=c.last_token_at,
            now=now,
            policy=policy,
        )
        if concerns:
            found.append(
                ClientAttention(
                    client_id=c.client_id,
                    organization_id=c.organization_id,
                    name=c.name,
                    created_at=c.created_at,
                    last_token_at=c.last_token_at,
                    key_rotated_at=rotated,
                    key_expires_at=key_expires_at(c.created_at, rotated, policy),
                    concerns=concerns,
                )
            )
    found.sort(key=lambda a: (a.key_expires_at, a.client_id))
    return found
