"""Live console pages: a server-sent event stream of what the person's organisation may see.

The stream is the GraphQL ``events`` subscription seen through a browser's ``EventSource``:
the same ``notifications.stream.stream`` (registered with this process's event pump, replay
from ``Last-Event-ID``, then live), the same organisation filter and the same re-check at
every delivery (``may_still_see``). Each message carries an event's id, topic, type and
subject id only, never a payload, so nothing about a survivor can travel on it.

Why not ``sse-starlette``: importing it replaces uvicorn's ``Server.handle_exit`` for the
whole process and keeps process-global shutdown state; the hub already ends its streams on
shutdown through its own pump and server. An SSE body is a few lines of text framing.

The stream ends when the session does:
- sign out (this session) and sign out everywhere (every session of the person) end it at
  once through the pump's cut-off, like a revoked token ends a subscription;
- a suspended organisation is cut off by the pump's own observer (its principal matches);
- anything else (an account disabled, sign-out in another process, the idle or absolute
  timeout) is caught by the session check made at every event and at every heartbeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from gateway.console import guard
from notifications.models import Event
from notifications.pump import EventPump
from notifications.stream import StreamEnded, StreamFilter, parse_cursor, stream
from orgs import staff
from orgs.principal import Principal
from store.engine import Database
from store.errors import HubError

log = logging.getLogger(__name__)

SUBSCRIBE_SCOPE = "events:subscribe"
# The stream tells a page that its referral lists changed: for people who read those lists
# (an organisation's admin holds events:subscribe for webhooks, not for casework).
LIST_SCOPE = "referrals:read"
# What the browser waits before reconnecting after a dropped stream (milliseconds).
RETRY_MS = 5000
_SESSION_MARK = "console-session:"
# Sent by live.js when it re-reads a page on its own: not activity of the person.
LIVE_REFRESH_HEADER = "X-Hub-Live-Refresh"


def session_mark(session_id: str) -> str:
    """The credential id a console stream's principal carries: a digest of the session id,
    so that signing out can cut off exactly that session's streams."""
    return _SESSION_MARK + staff.digest(session_id)


def end_session_streams(pump: EventPump | None, session_id: str) -> int:
    """End the live streams of one console session (signed out)."""
    if pump is None or not session_id:
        return 0
    mark = session_mark(session_id)
    return pump.cut_off(lambda p: p.token_id == mark, "signed out")


def end_person_streams(pump: EventPump | None, staff_id: str) -> int:
    """End every live stream of one person (signed out everywhere, disabled)."""
    if pump is None:
        return 0
    return pump.cut_off(lambda p: p.staff_id == staff_id, "signed out")


def frame(event: Event) -> str:
    """One SSE message: ids and kinds only (the page re-reads what it shows)."""
    data = {
        "id": str(event.id),
        "topic": event.topic,
        "type": event.type,
        "subjectId": event.subject_id,
    }
    return f"id: {event.id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


HEARTBEAT = ": heartbeat\n\n"


@dataclass
class LiveEvents:
    """The ``/console/events`` endpoint."""

    db: Database
    pump: EventPump | None
    heartbeat: float = 15.0

    async def events(self, request: Request) -> Response:
        session_id = request.cookies.get(guard.SESSION_COOKIE) or ""
        # Opening the stream is not activity either (EventSource reconnects by itself).
        person = await staff.session_person(self.db, session_id, False) if session_id else None
        if person is None:
            # EventSource gives up on anything but 200: a signed-out page stops listening.
            return guard.protect(PlainTextResponse("signed out", status_code=401))
        principal = person.principal(request.state.request_id)
        if not (principal.has(SUBSCRIBE_SCOPE) and principal.has(LIST_SCOPE)) or self.pump is None:
            return guard.protect(PlainTextResponse("forbidden", status_code=403))
        try:
            # EventSource sends Last-Event-ID when it reconnects; a page just opened
            # passes the last id its tab saw as ``after``.
            raw = request.headers.get("last-event-id") or request.query_params.get("after")
            after = parse_cursor(raw or None)
        except HubError:
            return guard.protect(PlainTextResponse("bad Last-Event-ID", status_code=400))
        if after is not None and after > await self.pump.head():
            after = None  # a cursor from another database (restored): start from now
        principal = replace(principal, token_id=session_mark(session_id))
        body = self._body(principal, session_id, after)
        response = StreamingResponse(body, media_type="text/event-stream")
        response.headers["X-Accel-Buffering"] = "no"  # a proxy must not hold messages back
        return guard.protect(response)

    async def _body(
        self, principal: Principal, session_id: str, after: int | None
    ) -> AsyncIterator[str]:
        assert self.pump is not None

        async def still_allowed() -> bool:
            return await staff.session_open(self.db, session_id)

        events = aiter(stream(self.db, self.pump, principal, after, StreamFilter(), still_allowed))
        pending: asyncio.Task[Event] | None = None
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({pending}, timeout=self.heartbeat)
                if not done:
                    if not await still_allowed():
                        return
                    yield HEARTBEAT
                    continue
                event = pending.result()
                pending = None
                yield frame(event)
        except (StreamEnded, StopAsyncIteration) as ended:
            log.info("console stream ended: %s (request %s)", ended, principal.request_id)
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
            await _close(events)


def ending_streams_first(
    pump: EventPump, then: Callable[[], Awaitable[int]]
) -> Callable[[], Awaitable[int]]:
    """The server's goodbye, ending console streams first: uvicorn waits for every open
    response before it stops, and an event stream never finishes by itself. The browser
    reconnects with its last event id."""

    async def going_away() -> int:
        ended = pump.cut_off(
            lambda p: (p.token_id or "").startswith(_SESSION_MARK), "hub shutting down"
        )
        return ended + await then()

    return going_away


async def _close(events: AsyncIterator[Event]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
