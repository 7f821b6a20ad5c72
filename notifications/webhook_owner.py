"""What the owner of a webhook may see of it and do with it.

An owner changes the URL and topics, disables and enables, deletes, and rotates the
signing secret of its own webhooks; each change is one transaction with its event and
audit entry. Anyone else is told the webhook does not exist. Of each delivery attempt the
owner sees when, how long, and the class of the answer: not the receiver's status text,
body or error, which for an address inside someone's network would be a probe's result.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import Event, Webhook, WebhookAttempt, WebhookDelivery
from notifications.outbox import emit
from notifications.stream import EventTopic
from notifications.webhooks import vet_url
from orgs.principal import Principal
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher


class AttemptResult(StrEnum):
    SUCCESS_2XX = "SUCCESS_2XX"
    REDIRECT_3XX = "REDIRECT_3XX"
    CLIENT_ERROR_4XX = "CLIENT_ERROR_4XX"
    SERVER_ERROR_5XX = "SERVER_ERROR_5XX"
    NETWORK_ERROR = "NETWORK_ERROR"


def attempt_result(status_code: int | None) -> AttemptResult:
    """The class of an answer; anything without a status (refused, timeout) is a network error."""
    if status_code is None:
        return AttemptResult.NETWORK_ERROR
    if 200 <= status_code < 300:
        return AttemptResult.SUCCESS_2XX
    if 300 <= status_code < 400:
        return AttemptResult.REDIRECT_3XX
    if 400 <= status_code < 500:
        return AttemptResult.CLIENT_ERROR_4XX
    if 500 <= status_code < 600:
        return AttemptResult.SERVER_ERROR_5XX
    return AttemptResult.NETWORK_ERROR


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def _place(webhook_id: str) -> dict[str, str]:
    return {"table": "webhooks", "column": "secret", "row_id": webhook_id}


async def _owned(session: AsyncSession, actor: Principal, webhook_id: str) -> Webhook:
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None or actor.organization_id is None:
        raise not_found("webhook")
    if webhook.organization_id != actor.organization_id:
        raise not_found("webhook")
    return webhook


async def _record(
    session: AsyncSession,
    actor: Principal,
    webhook: Webhook,
    event_type: str,
    action: str,
    detail: dict[str, Any],
) -> None:
    await emit(
        session,
        topic="ORGANIZATION",
        type=event_type,
        subject_id=webhook.id,
        actor_organization_id=actor.organization_id,
        audience=[webhook.organization_id],
        payload={"webhookId": webhook.id, **detail},
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=action,
        subject_type="Webhook",
        subject_id=webhook.id,
        detail=detail,
        request_id=actor.request_id,
    )


async def update_webhook(
    db: Database,
    actor: Principal,
    webhook_id: str,
    url: str | None,
    topics: Sequence[EventTopic] | None,
    production: bool,
) -> Webhook:
    """Change where a webhook goes or what it carries; a new URL is vetted like a new one."""
    if url is None and topics is None:
        raise HubError(ErrorCode.BAD_USER_INPUT, "give a new url, new topics, or both")
    if topics is not None and not topics:
        raise HubError(ErrorCode.BAD_USER_INPUT, "topics: name at least one topic")
    async with db.read() as session:
        await _owned(session, actor, webhook_id)
    clean = await vet_url(url, production) if url is not None else None
    async with db.write() as session:
        webhook = await _owned(session, actor, webhook_id)
        detail: dict[str, Any] = {}
        if clean is not None:
            webhook.url = clean
            detail["host"] = urlsplit(clean).hostname
        if topics is not None:
            webhook.topics = sorted({t.value for t in topics})
            detail["topics"] = webhook.topics
        await _record(session, actor, webhook, "WEBHOOK_UPDATED", "webhook.update", detail)
    return webhook


async def set_webhook_enabled(
    db: Database, actor: Principal, webhook_id: str, enabled: bool
) -> Webhook:
    """Disable (nothing is queued or sent) or enable again (from the next event on)."""
    async with db.write() as session:
        webhook = await _owned(session, actor, webhook_id)
        if webhook.enabled == enabled:
            state = "enabled" if enabled else "disabled"
            raise HubError(ErrorCode.INVALID_TRANSITION, f"the webhook is already {state}")
        webhook.enabled = enabled
        verb = "ENABLED" if enabled else "DISABLED"
        await _record(
            session,
            actor,
            webhook,
            f"WEBHOOK_{verb}",
            f"webhook.{'enable' if enabled else 'disable'}",
            {},
        )
        if enabled:
            # Deliveries start after the event that says so.
            head = await session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
            webhook.last_event_id = head or 0
    return webhook


async def delete_webhook(db: Database, actor: Principal, webhook_id: str) -> str:
    """Remove a webhook with its deliveries and attempts; the audit entry stays."""
    async with db.write() as session:
        webhook = await _owned(session, actor, webhook_id)
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == webhook.id)
        await session.execute(
            delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries))
        )
        await session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
        )
        await _record(session, actor, webhook, "WEBHOOK_DELETED", "webhook.delete", {})
        await session.delete(webhook)
    return webhook_id


async def rotate_webhook_secret(
    db: Database, actor: Principal, cipher: FieldCipher, webhook_id: str
) -> tuple[Webhook, str]:
    """A new signing secret, shown once; the old one signs nothing from now on."""
    secret = new_secret()
    async with db.write() as session:
        webhook = await _owned(session, actor, webhook_id)
        webhook.secret_sealed = cipher.seal(secret, **_place(webhook.id))
        await _record(
            session, actor, webhook, "WEBHOOK_SECRET_ROTATED", "webhook.rotate_secret", {}
        )
    return webhook, secret
