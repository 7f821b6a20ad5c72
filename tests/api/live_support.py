"""Reading a console page's live stream (server-sent events) over real HTTP, as
``EventSource`` does: one message per blank-line-separated block, comments as heartbeats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

EVENTS_PATH = "/console/events"


@dataclass
class Message:
    id: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None
    retry: int | None = None


@dataclass
class LiveStream:
    """An open ``/console/events`` response; ``raw`` keeps every line read, to look for
    what must never be there."""

    response: httpx.Response
    raw: list[str] = field(default_factory=list)
    ended: bool = False

    def __post_init__(self) -> None:
        self._lines = self.response.aiter_lines()

    async def message(self, seconds: float = 10.0) -> Message | None:
        """The next message or heartbeat, or None when the hub ended the stream."""
        found = Message()
        seen = False
        async with asyncio.timeout(seconds):
            async for line in self._lines:
                self.raw.append(line)
                if line == "":
                    if seen:
                        return found
                    continue
                seen = True
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    found.comment = value
                elif name == "id":
                    found.id = value
                elif name == "data":
                    found.data = json.loads(value)
                elif name == "retry":
                    found.retry = int(value)
        self.ended = True
        return None

    async def event(self, seconds: float = 10.0) -> dict[str, Any]:
        """The next event, skipping heartbeats."""
        while True:
            message = await self.message(seconds)
            assert message is not None, "the stream ended before an event came"
            if message.data is not None:
                assert message.id == message.data["id"]
                return message.data

    async def until_ended(self, seconds: float = 10.0) -> list[Message]:
        """Everything until the hub closes the stream (fails after ``seconds``)."""
        got: list[Message] = []
        async with asyncio.timeout(seconds):
            while (message := await self.message(seconds)) is not None:
                got.append(message)
        return got


@asynccontextmanager
async def live(
    client: httpx.AsyncClient, last_event_id: str | None = None
) -> AsyncIterator[LiveStream]:
    """Open the stream and read its opening ``retry`` line (then it is registered)."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with client.stream("GET", EVENTS_PATH, headers=headers) as response:
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        opened = LiveStream(response)
        first = await opened.message()
        assert first is not None and first.retry is not None
        yield opened
