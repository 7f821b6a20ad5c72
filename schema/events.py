"""Events in GraphQL: subscriptions that replay then go live, and a polling query."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from cases import service as cases
from cases.paging import EVENTS_PAGE_MAX, check_page_size
from notifications.models import Event as EventRow
from notifications.stream import (
    EventTopic,
    StreamEnded,
    StreamFilter,
    page,
    parse_cursor,
    stream,
    topics_of,
)
from schema.context import HubContext
from schema.permissions import requires
from schema.referrals import ReferralBox
from store.errors import ErrorCode, HubError

log = logging.getLogger(__name__)

strawberry.enum(EventTopic, name="EventTopic")


@strawberry.type(description="One event. Payloads carry ids and statuses, never survivor data.")
class Event:
    id: str = strawberry.field(description="The cursor: pass it as `after` to resume.")
    topic: EventTopic
    type: str
    subject_id: strawberry.ID
    actor_organization_id: strawberry.ID | None
    occurred_at: datetime
    payload: JSON

    @classmethod
    def from_row(cls, row: EventRow) -> Self:
        payload: Any = row.payload
        return cls(
            id=str(row.id),
            topic=EventTopic(row.topic),
            type=row.type,
            subject_id=strawberry.ID(row.subject_id),
            actor_organization_id=strawberry.ID(row.actor_organization_id)
            if row.actor_organization_id
            else None,
            occurred_at=row.occurred_at,
            payload=payload,
        )


@strawberry.type
class EventPage:
    events: list[Event]
    end_cursor: str = strawberry.field(description="Where to continue from next time.")


_SUBSCRIBE = [requires("events:subscribe")]


@dataclass
class SharedStreamContext(HubContext):
    """The context of one execution shared by an audience of subscriptions (see
    gateway/fanout.py). There is no one socket to close: how the stream ended is handed
    back to the audience, which ends every member's socket with it."""

    ended: StreamEnded | None = None
    # How many subscriptions this one execution serves (the pump counts them all).
    member_count: Callable[[], int] | None = None


async def _run(
    info: Info[HubContext, None], after: str | None, stream_filter: StreamFilter
) -> AsyncGenerator[Event, None]:
    ctx = info.context
    actor = ctx.actor
    assert ctx.pump is not None and ctx.standing_check is not None
    check = ctx.standing_check
    cursor = parse_cursor(after)

    async def still_allowed() -> bool:
        return await check(actor)

    members = ctx.member_count if isinstance(ctx, SharedStreamContext) else None
    try:
        # Closed with this generator, at once: a subscription stopped between two events
        # (the generator suspended, not running) must leave the pump then, not later,
        # when asyncio's finalizer for abandoned generators gets to the inner one.
        async with aclosing(
            stream(ctx.db, ctx.pump, actor, cursor, stream_filter, still_allowed, members)
        ) as rows:
            async for row in rows:
                yield Event.from_row(row)
    except StreamEnded as ended:
        if isinstance(ctx, SharedStreamContext):
            ctx.ended = ended
            return
        # The whole connection ends: suspension, expiry or a slow consumer concern the
        # socket, not one operation. The client reconnects with its last event id.
        log.info("closing subscription socket: %s (request %s)", ended.reason, ctx.request_id)
        websocket = ctx.request
        if websocket is not None and hasattr(websocket, "close"):
            await websocket.close(code=ended.code, reason=ended.reason)


@strawberry.type
class EventQueries:
    @strawberry.field(
        permission_classes=_SUBSCRIBE,
        description="The event stream for clients that poll: up to `first` (1 to 500) "
        "events after `after`.",
    )
    async def events(
        self,
        info: Info[HubContext, None],
        after: str | None = None,
        first: int = 100,
        topics: list[EventTopic] | None = None,
    ) -> EventPage:
        check_page_size(first, EVENTS_PAGE_MAX)
        ctx = info.context
        assert ctx.pump is not None
        start = parse_cursor(after) or 0
        if start > await ctx.pump.head():
            raise HubError(ErrorCode.BAD_USER_INPUT, "after: this cursor is ahead of the stream")
        rows, cursor = await page(
            ctx.db, ctx.actor, start, first, StreamFilter(topics=topics_of(topics))
        )
        return EventPage(events=[Event.from_row(r) for r in rows], end_cursor=str(cursor))


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=_SUBSCRIBE,
        description="Everything the caller may see after `after` (or from now), then live.",
    )
    async def events(
        self,
        info: Info[HubContext, None],
        after: str | None = None,
        topics: list[EventTopic] | None = None,
    ) -> AsyncGenerator[Event, None]:
        async with aclosing(_run(info, after, StreamFilter(topics=topics_of(topics)))) as events:
            async for event in events:
                yield event

    @strawberry.subscription(
        permission_classes=_SUBSCRIBE, description="Status changes of one case the caller sees."
    )
    async def case_status(
        self, info: Info[HubContext, None], case_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[Event, None]:
        ctx = info.context
        # NOT_FOUND for a case the caller is not party to, exactly as for one that does not exist.
        await cases.require_visible(ctx.db, ctx.actor, str(case_id))
        only = StreamFilter(
            topics=frozenset({EventTopic.CASE.value}),
            subject_id=str(case_id),
            matches=lambda e: e.type == "CASE_STATUS_CHANGED",
        )
        async with aclosing(_run(info, after, only)) as events:
            async for event in events:
                yield event

    @strawberry.subscription(
        permission_classes=_SUBSCRIBE, description="Updates of referrals in the caller's box."
    )
    async def referral_updates(
        self, info: Info[HubContext, None], box: ReferralBox, after: str | None = None
    ) -> AsyncGenerator[Event, None]:
        org = info.context.actor.organization_id
        key = "receiver" if box == ReferralBox.INBOX else "sender"
        only = StreamFilter(
            topics=frozenset({EventTopic.REFERRAL.value}),
            matches=lambda e: (e.payload or {}).get(key) == org,
        )
        async with aclosing(_run(info, after, only)) as events:
            async for event in events:
                yield event
