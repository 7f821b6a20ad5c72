"""Event streams for one organisation: replay from a cursor, then live, in id order, with no
duplicates and no gaps; who may see each event is decided again at every delivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select

from cases.access import visible_to
from cases.models import Case
from notifications.models import Event
from notifications.pump import EventPump, SubscriberClosed
from orgs.principal import Principal
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.types import utcnow

REPLAY_BATCH = 200
MAX_REPLAY = 10_000


class EventTopic(StrEnum):
    ORGANIZATION = "ORGANIZATION"
    CASE = "CASE"
    REFERRAL = "REFERRAL"
    REPATRIATION = "REPATRIATION"
    CONSENT = "CONSENT"
    LEGAL = "LEGAL"
    REINTEGRATION = "REINTEGRATION"


class CloseCode:
    """Websocket close codes a subscriber may meet, and what to do about each.

    Chosen for the reference client (npm ``graphql-ws``): it retries 4403 (calling its
    ``connectionParams`` again, which is where a new token comes from) and gives up at once
    on 1008 (like every 1xxx code other than 1000, 1001, 1005, 1006, 1012-1014).
    """

    NEW_TOKEN = 4403  # token expired, revoked or unusable: fetch a new one, reconnect
    NOT_ALLOWED = 1008  # organisation not active, client disabled: stop
    TOO_SLOW = 4499  # fell behind: reconnect with the last event id and replay
    GOING_AWAY = 1001  # the hub is restarting: reconnect with the last event id


class StandingForget(Protocol):
    def forget(self, client_id: str | None = None, organization_id: str | None = None) -> None: ...


class StreamEnded(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def close_code_for(reason: str) -> int:
    """The close code for a subscription the pump cut off, by the pump's reason."""
    if reason == "too slow":
        return CloseCode.TOO_SLOW
    if reason == "hub shutting down":
        return CloseCode.GOING_AWAY
    if reason == "token revoked":
        return CloseCode.NEW_TOKEN
    return CloseCode.NOT_ALLOWED


def parse_cursor(after: str | None) -> int | None:
    """An event cursor is the decimal id of the last event seen."""
    if after is None:
        return None
    # isascii: str.isdigit() also accepts "²", which int() refuses.
    if not (after.isascii() and after.isdigit()) or len(after) > 18:
        raise HubError(ErrorCode.BAD_USER_INPUT, "after: not an event cursor")
    return int(after)


@dataclass(frozen=True, slots=True)
class StreamFilter:
    topics: frozenset[str] | None = None
    subject_id: str | None = None
    matches: Callable[[Event], bool] | None = None

    def wants(self, event: Event, organization_id: str) -> bool:
        if organization_id not in event.audience:
            return False
        if self.topics is not None and event.topic not in self.topics:
            return False
        if self.subject_id is not None and event.subject_id != self.subject_id:
            return False
        return self.matches is None or self.matches(event)


async def may_still_see(db: Database, organization_id: str, event: Event) -> bool:
    """Checked at delivery: a case event reaches only organisations that may see the case now."""
    if event.topic != EventTopic.CASE:
        return True
    async with db.read() as session:
        found = await session.scalar(
            select(Case.id).where(
                Case.id == event.subject_id, visible_to(organization_id, utcnow())
            )
        )
    return found is not None


async def page(
    db: Database,
    principal: Principal,
    after: int,
    first: int,
    stream_filter: StreamFilter,
) -> tuple[list[Event], int]:
    """Up to ``first`` visible events after ``after``, and the cursor to continue from."""
    org = principal.organization_id or ""
    found: list[Event] = []
    cursor = after
    scanned = 0
    while len(found) < first and scanned < MAX_REPLAY:
        async with db.read() as session:
            rows = list(
                await session.scalars(
                    select(Event).where(Event.id > cursor).order_by(Event.id).limit(REPLAY_BATCH)
                )
            )
        for row in rows:
            cursor = row.id
            if stream_filter.wants(row, org) and await may_still_see(db, org, row):
                found.append(row)
                if len(found) == first:
                    break
        scanned += len(rows)
        if len(rows) < REPLAY_BATCH:
            break
    return found, cursor


async def stream(
    db: Database,
    pump: EventPump,
    principal: Principal,
    after: int | None,
    stream_filter: StreamFilter,
    still_allowed: Callable[[], Awaitable[bool]],
    members: Callable[[], int] | None = None,
) -> AsyncGenerator[Event, None]:
    """Replay everything after ``after`` the principal may see, then go live.

    The subscription registers with the pump before replaying, so an event committed during
    replay is either read from the table or waits in the queue; ids already yielded are
    skipped. ``still_allowed`` re-checks membership and client standing at every delivery.
    ``members``: how many subscriptions this stream serves, when an audience shares it.
    """
    org = principal.organization_id or ""
    head = await pump.head()
    if after is not None and after > head:
        raise HubError(ErrorCode.BAD_USER_INPUT, "after: this cursor is ahead of the stream")
    subscriber = pump.subscribe(lambda e: stream_filter.wants(e, org), principal, members)
    last = head if after is None else after
    try:
        while after is not None:
            batch, cursor = await page(db, principal, last, REPLAY_BATCH, stream_filter)
            for event in batch:
                await _check_standing(principal, still_allowed)
                yield event
            if cursor == last:
                break
            last = cursor
        while True:
            timeout = None
            if principal.expires_at is not None:
                timeout = max(0.0, principal.expires_at - time.time())
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the result
                # of an event that arrives in the same turn as a cancellation and drops the
                # cancellation (a stopped subscription would then live on).
                async with asyncio.timeout(timeout):
                    event = await subscriber.next()
            except TimeoutError:
                raise StreamEnded(CloseCode.NEW_TOKEN, "token expired") from None
            except SubscriberClosed as closed:
                if closed.reason == "too slow":
                    raise StreamEnded(CloseCode.TOO_SLOW, "subscriber too slow") from None
                raise StreamEnded(close_code_for(closed.reason), closed.reason) from None
            if event.id <= last:
                continue
            last = event.id
            await _check_standing(principal, still_allowed)
            if await may_still_see(db, org, event):
                yield event
    finally:
        pump.unsubscribe(subscriber)


async def _check_standing(
    principal: Principal, still_allowed: Callable[[], Awaitable[bool]]
) -> None:
    if principal.expires_at is not None and principal.expires_at <= time.time():
        raise StreamEnded(CloseCode.NEW_TOKEN, "token expired")
    if not await still_allowed():
        raise StreamEnded(CloseCode.NOT_ALLOWED, "no longer allowed")


def cut_off_on(pump: EventPump, standing: StandingForget) -> Callable[[Event], None]:
    """An observer that ends live subscriptions the moment membership or access changes."""

    def observe(event: Event) -> None:
        payload = event.payload or {}
        if event.type in ("ORGANIZATION_SUSPENDED", "MEMBERSHIP_REVOKED"):
            org = payload.get("organizationId")
            standing.forget(organization_id=str(org))
            pump.cut_off(lambda p: p.organization_id == org, "organisation suspended")
        elif event.type == "CLIENT_DISABLED":
            client = payload.get("clientId")
            standing.forget(client_id=str(client))
            pump.cut_off(lambda p: p.client_id == client, "client disabled")
        elif event.type == "TOKEN_REVOKED":
            jti = payload.get("jti")
            pump.cut_off(lambda p: p.token_id == jti, "token revoked")

    return observe


def topics_of(values: Collection[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values else None
