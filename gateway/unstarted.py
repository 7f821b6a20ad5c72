"""Work cancelled before it started is closed, not left for the collector to complain about.

graphql-core hands coroutine objects around: a field's resolver call, its completion and the
gathering of an object's fields are each created eagerly and passed, as arguments, to the
coroutine that will await them. When one field fails, graphql-core cancels the sibling tasks
still pending. A task cancelled before its first step never runs its coroutine, so the
coroutines it was handed are never awaited and never closed: they wait, in reference cycles
through the executor, for a full garbage collection, which then reports each one as "never
awaited" -- in whatever request or test happens to be running at that moment. That is a
narrow timing window (a sibling's I/O completing in the very tick the failure is handled),
so it shows as a rare, misattributed warning.

The hub's loop therefore creates its tasks through :func:`task_factory`: cancelling a task
whose coroutine has not started closes, first, every unstarted coroutine it was handed (in
its arguments, or in a list, tuple or dict among them, recursively). Nothing that could run
is closed: an unstarted coroutine receives the cancellation at its first instruction, before
any ``try`` it could catch it with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator, Iterator
from contextlib import contextmanager
from inspect import CORO_CREATED, getcoroutinestate
from types import CoroutineType
from typing import Any

# Results graphql-core hands down nest a few levels (task -> field completion -> the
# object's gathered fields -> each field's completion -> its resolver); deeper is not its shape.
_MAX_DEPTH = 12


def _unstarted(value: object) -> bool:
    return isinstance(value, CoroutineType) and getcoroutinestate(value) == CORO_CREATED


def close_unstarted(coroutine: Coroutine[Any, Any, Any], depth: int = 0) -> None:
    """Close ``coroutine`` if it never started, and every unstarted coroutine it holds."""
    if not _unstarted(coroutine) or depth > _MAX_DEPTH:
        return
    frame = getattr(coroutine, "cr_frame", None)
    handed = list(frame.f_locals.values()) if frame is not None else []
    coroutine.close()
    for value in handed:
        for held in _coroutines_in(value, depth + 1):
            close_unstarted(held, depth + 1)


def _coroutines_in(value: object, depth: int) -> Iterator[Coroutine[Any, Any, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, CoroutineType):
        yield value
    elif isinstance(value, dict):
        for item in list(value.values()):
            yield from _coroutines_in(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in list(value):
            yield from _coroutines_in(item, depth + 1)


class DiscardingTask(asyncio.Task):  # type: ignore[type-arg]
    """A task that, cancelled before it ran, closes the unstarted work it was handed."""

    def cancel(self, msg: Any | None = None) -> bool:
        coroutine = self.get_coro()
        if not self.done() and _unstarted(coroutine):
            frame = getattr(coroutine, "cr_frame", None)
            if frame is not None:
                for value in list(frame.f_locals.values()):
                    for held in _coroutines_in(value, 1):
                        close_unstarted(held, 1)
        return super().cancel(msg)


def task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    return DiscardingTask(coro, loop=loop, **kwargs)


@contextmanager
def discarding_unstarted_work() -> Generator[None, None, None]:
    """Let the running loop's tasks close unstarted work when cancelled; restore on exit."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    loop.set_task_factory(task_factory)
    try:
        yield
    finally:
        if loop.get_task_factory() is task_factory:
            loop.set_task_factory(previous)
