"""Live subscriptions shared by audience: one execution and one encoded message per event
for every subscriber that would be sent exactly the same thing.

An *audience* is the set of graphql-transport-ws subscriptions whose operation (document,
variables, operation name) and visibility (organisation, organisation kind, OAuth client,
scopes) are equal. What a subscription sees depends on nothing else: party and consent are
decided per organisation, scope gates per scope set, standing per client. So the audience
runs the operation once, with a principal carrying exactly those four things, and every
event is executed, authorised (standing, ``may_still_see``) and JSON-encoded once for all
of its members. A member's ``next`` frame is that encoded payload with its own
subscription id spliced in front.

What differs between members of an audience stays per member: the token (its expiry ends
that member's socket at ``exp`` sharp, its revocation cuts off that member only) and the
socket (a bounded per-member queue of encoded payloads; a member that falls ``capacity``
events behind is disconnected with 4499 and replays with ``after``, as before).

Only subscriptions whose start-up checks depend on the principal alone are shared: root
fields listed in ``SHAREABLE_ROOTS`` with no ``after`` argument. A replay (``after``) or a
``caseStatus`` subscription (whose start checks the case now) runs on its own, unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Protocol

from graphql import (
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
)
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from gateway.direct_frames import DIRECT_TEXT, DirectText, text_frame
from notifications.pump import EventPump
from notifications.stream import CloseCode, close_code_for
from orgs.principal import Principal
from schema.context import HubContext
from schema.events import SharedStreamContext

log = logging.getLogger(__name__)

# Root subscription fields whose only start-up check is the caller's scope.
SHAREABLE_ROOTS = frozenset({"events", "referralUpdates"})


@dataclass(frozen=True, slots=True)
class AudienceKey:
    """Everything that decides what a subscription is sent. Equal keys, equal messages."""

    query: str
    variables: str  # canonical JSON
    operation_name: str | None
    organization_id: str
    organization_kind: str | None
    client_id: str
    scopes: frozenset[str]


@lru_cache(maxsize=256)
def shareable(query: str, operation_name: str | None) -> tuple[str, ...] | None:
    """Whether an operation may run once for an audience: a subscription whose root
    selections are plain ``SHAREABLE_ROOTS`` fields with no ``after`` (or one given by a
    variable without a default, which must then be null). The names of those variables,
    or None when the operation runs on its own: a literal ``after`` (a replay), a fragment
    at the root, a document that does not parse."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
        return None
    (operation,) = operations
    defaults = {
        d.variable.name.value
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    after_variables: list[str] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in SHAREABLE_ROOTS:
            return None
        for argument in selection.arguments or ():
            if argument.name.value != "after" or isinstance(argument.value, NullValueNode):
                continue
            if not isinstance(argument.value, VariableNode):
                return None
            name = argument.value.name.value
            if name in defaults:
                return None
            after_variables.append(name)
    return tuple(after_variables)


def audience_key(
    query: str,
    variables: dict[str, object] | None,
    operation_name: str | None,
    principal: Principal | None,
) -> AudienceKey | None:
    """The audience of a subscription, or None when it must run on its own."""
    if principal is None or principal.organization_id is None or principal.client_id is None:
        return None
    if not isinstance(query, str) or (variables is not None and not isinstance(variables, dict)):
        return None
    after_variables = shareable(query, operation_name)
    if after_variables is None:
        return None
    if any((variables or {}).get(name) is not None for name in after_variables):
        return None  # a replay from a cursor is this subscriber's own
    try:
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return AudienceKey(
        query=query,
        variables=canonical,
        operation_name=operation_name,
        organization_id=principal.organization_id,
        organization_kind=principal.organization_kind,
        client_id=principal.client_id,
        scopes=principal.scopes,
    )


def shared_principal(principal: Principal) -> Principal:
    """The audience's principal: the member's visibility without anything per token (its
    expiry and revocation are watched per member)."""
    return replace(principal, token_id=None, request_id=None, expires_at=None)


@dataclass(frozen=True, slots=True)
class Ending:
    """How a member's subscription ends: closing its socket (``code``), an ``error``
    message before any result, or a plain ``complete``."""

    code: int | None = None
    reason: str = ""
    pre_execution: PreExecutionError | None = None


TOKEN_EXPIRED = Ending(CloseCode.NEW_TOKEN, "token expired")
TOO_SLOW = Ending(CloseCode.TOO_SLOW, "subscriber too slow")
COMPLETE = Ending()


class Member:
    """One subscription in an audience: a bounded queue of encoded payloads for one socket.

    Kept small on purpose (slots, one deque, a future only while waiting): an idle
    subscriber's memory is the point of sharing.

    With ``direct`` (gateway/direct_frames.py), a payload offered while nothing is queued or
    being sent is written to the socket at once, in the audience's own loop: no task of the
    member's wakes for it. Anything the socket cannot take at once (flow control, closing)
    is queued and sent by ``deliver`` as before, and once something is queued every later
    payload queues behind it, so order is kept and the queue stays the bound."""

    __slots__ = (
        "_sending",
        "_timer",
        "_waiter",
        "capacity",
        "direct",
        "ending",
        "head",
        "payloads",
        "principal",
    )

    def __init__(
        self,
        operation_id: str,
        principal: Principal,
        capacity: int,
        direct: DirectText | None = None,
    ) -> None:
        self.head = '{"id":' + json.dumps(operation_id) + ',"type":"next","payload":'
        self.principal = principal
        self.capacity = capacity
        self.direct = direct
        self.payloads: deque[str] = deque()
        self.ending: Ending | None = None
        self._sending = False
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        if principal.expires_at is not None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, principal.expires_at - time.time())
            self._timer = loop.call_at(loop.time() + delay, self.end, TOKEN_EXPIRED)

    def offer(self, payload: str, frames: dict[str, bytes] | None = None) -> None:
        """Send or queue one encoded payload. ``frames``: this payload's frames already
        built, by member head (members of an audience mostly share an operation id)."""
        if self.ending is not None:
            return
        expires = self.principal.expires_at
        if expires is not None and expires <= time.time():
            self.end(TOKEN_EXPIRED)
        elif len(self.payloads) >= self.capacity:
            self.end(TOO_SLOW)
        elif self.direct is not None and not self.payloads and not self._sending:
            frame = None if frames is None else frames.get(self.head)
            if frame is None:
                frame = text_frame((self.head + payload + "}").encode())
                if frames is not None:
                    frames[self.head] = frame
            if not self.direct(frame):
                self.payloads.append(payload)
                self._wake()
        else:
            self.payloads.append(payload)
            self._wake()

    def end(self, ending: Ending) -> None:
        if self.ending is None:
            self.ending = ending
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def deliver(self, send: Callable[[str], Awaitable[None]]) -> Ending:
        """Send payloads as they come until the subscription ends; how it ended. A close
        (too slow, expired, revoked, suspended) drops what is still queued; a completion
        delivers it first."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                ending = self.ending
                if ending is not None and (ending.code is not None or not self.payloads):
                    return ending
                if self.payloads:
                    self._sending = True
                    try:
                        await send(self.head + self.payloads.popleft() + "}")
                    finally:
                        self._sending = False
                    continue
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self.payloads.clear()


class Encoder(Protocol):
    def __call__(self, data: object) -> str: ...


class StreamingSchema(Protocol):
    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
    ) -> Any: ...


class Audience:
    """One shared execution of one operation, fanned out to its members."""

    def __init__(self, key: AudienceKey, registry: Audiences) -> None:
        self.key = key
        self.registry = registry
        self.members: set[Member] = set()
        self.ending: Ending | None = None
        self.task: asyncio.Task[None] | None = None
        # A first result with errors (a refused operation) ends the stream: whoever joins
        # between it and the end is given it too, not a bare `complete`.
        self.refusal: str | None = None

    def start(self, context: HubContext, variables: dict[str, object] | None) -> None:
        self.task = asyncio.create_task(self._run(context, variables), name="audience")

    def finish(self, ending: Ending) -> None:
        self.ending = ending
        self.registry.forget(self)
        for member in list(self.members):
            member.end(ending)

    async def _run(self, context: HubContext, variables: dict[str, object] | None) -> None:
        registry, key = self.registry, self.key
        shared = SharedStreamContext(
            db=context.db,
            request_id=uuid.uuid4().hex,
            cipher=context.cipher,
            pump=context.pump,
            production=context.production,
            standing_check=context.standing_check,
            principal=shared_principal(context.actor),
            member_count=lambda: len(self.members),
        )
        ending = COMPLETE
        try:
            source = await registry.schema.stream(
                key.query,
                variable_values=variables,
                context_value=shared,
                operation_name=key.operation_name,
            )
            first = True
            async with aclosing(source):
                async for result in source:
                    if isinstance(result, PreExecutionError):
                        ending = Ending(pre_execution=result)
                        break
                    if not isinstance(result, ExecutionResult):
                        ending = Ending(CloseCode.NOT_ALLOWED, "incremental delivery refused")
                        break
                    payload = registry.encode(_next_payload(result))
                    if result.errors and first:
                        self.refusal = payload
                    first = False
                    frames: dict[str, bytes] = {}
                    for member in list(self.members):
                        member.offer(payload, frames)
            if shared.ended is not None:
                ending = Ending(shared.ended.code, shared.ended.reason)
        except asyncio.CancelledError:
            self.registry.forget(self)
            raise
        except Exception:
            log.exception("shared subscription failed (request %s)", shared.request_id)
            ending = Ending(1011, "internal error")
        self.finish(ending)


def _next_payload(result: ExecutionResult) -> dict[str, object]:
    """The ``next`` payload, as strawberry's own handler builds it."""
    payload: dict[str, object] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


class Audiences:
    """The open audiences of one process, by key."""

    def __init__(self, schema: StreamingSchema, pump: EventPump, encode: Encoder) -> None:
        self.schema = schema
        self.encode = encode
        self.capacity = pump.queue_capacity
        self._open: dict[AudienceKey, Audience] = {}
        pump.cutters.append(self.cut_off)

    @property
    def count(self) -> int:
        return len(self._open)

    def forget(self, audience: Audience) -> None:
        if self._open.get(audience.key) is audience:
            del self._open[audience.key]

    def join(
        self, key: AudienceKey, member: Member, context: HubContext, variables: Any
    ) -> Audience:
        """Add a member to its audience, starting the audience if it is the first."""
        audience = self._open.get(key)
        if audience is None:
            audience = Audience(key, self)
            self._open[key] = audience
            audience.start(context, variables)
        audience.members.add(member)
        if audience.refusal is not None:
            member.offer(audience.refusal)
        return audience

    async def leave(self, audience: Audience, member: Member) -> None:
        """Remove a member; the last one out stops the shared execution."""
        audience.members.discard(member)
        if audience.members or audience.task is None:
            return
        self.forget(audience)
        audience.task.cancel()
        # Wait for it to unwind (its stream leaves the pump) without swallowing a
        # cancellation of this member's own task.
        await asyncio.wait({audience.task})

    def cut_off(self, matches: Callable[[Principal], bool], reason: str) -> int:
        """End every member whose own principal matches (a revoked token): called by the
        pump with its own subscribers' cut-off."""
        count = 0
        ending = Ending(close_code_for(reason), reason)
        for audience in list(self._open.values()):
            for member in list(audience.members):
                if matches(member.principal):
                    member.end(ending)
                    count += 1
        return count

    async def serve(
        self,
        key: AudienceKey,
        operation_id: str,
        context: HubContext,
        variables: Any,
        websocket: WebSocket,
    ) -> Ending:
        """Run one subscription as a member of its audience until it ends; how it ended.
        The caller closes the socket or completes the operation accordingly."""
        direct = websocket.scope.get("extensions", {}).get(DIRECT_TEXT)
        member = Member(
            operation_id, context.actor, self.capacity, direct if callable(direct) else None
        )
        audience = self.join(key, member, context, variables)
        try:
            return await member.deliver(websocket.send_text)
        except (OSError, RuntimeError, WebSocketDisconnect):
            return COMPLETE  # the peer is gone: there is nobody to tell
        finally:
            await self.leave(audience, member)
