"""A task cancelled before it ran closes the coroutines it was handed (gateway.unstarted).

graphql-core passes eagerly created coroutines (a field's resolver call, its completion, an
object's gathered fields) to the coroutine that will await them; when a sibling fails it
cancels pending tasks, and one cancelled before its first step never awaited what it held.
"""

from __future__ import annotations

import asyncio
from inspect import CORO_CLOSED, CORO_CREATED, getcoroutinestate
from typing import Any

import pytest

from gateway.unstarted import close_unstarted, discarding_unstarted_work, task_factory


async def _leaf(log: list[str]) -> int:
    log.append("leaf ran")
    return 1


async def _completion(fields: dict[str, Any]) -> dict[str, Any]:
    for name, value in fields.items():
        fields[name] = await value
    return fields


async def _outer(completion: Any, more: list[Any]) -> Any:
    return await completion


async def _cancel_before_start(log: list[str]) -> list[Any]:
    """Cancel a task before its first step; return every coroutine it was handed."""
    leaves = [_leaf(log) for _ in range(4)]
    handed = _completion({"a": leaves[0], "b": [leaves[1]]})
    task = asyncio.ensure_future(_outer(handed, [leaves[2], (leaves[3],)]))
    task.cancel()
    await asyncio.wait({task})
    assert task.cancelled()
    return [handed, *leaves]


async def test_without_the_factory_the_handed_coroutines_are_left_unawaited() -> None:
    # The control: the default task leaves what it was handed unstarted, for the collector
    # to report as "never awaited" later.
    log: list[str] = []
    held = await _cancel_before_start(log)
    states = [getcoroutinestate(coroutine) for coroutine in held]
    for coroutine in held:
        coroutine.close()  # this test's own clean-up
    assert states == [CORO_CREATED] * 5
    assert log == []


async def test_a_task_cancelled_before_it_ran_closes_what_it_was_handed() -> None:
    log: list[str] = []
    with discarding_unstarted_work():
        assert asyncio.get_running_loop().get_task_factory() is task_factory
        held = await _cancel_before_start(log)
    assert [getcoroutinestate(coroutine) for coroutine in held] == [CORO_CLOSED] * 5
    assert log == []  # nothing that was handed ran
    assert asyncio.get_running_loop().get_task_factory() is None  # restored


async def test_started_work_is_left_alone() -> None:
    # A task already running is cancelled the ordinary way: what it awaits gets the
    # cancellation, and nothing it holds is closed behind its back.
    log: list[str] = []
    gate = asyncio.Event()

    async def waits(pending: Any) -> Any:
        try:
            await gate.wait()
        except asyncio.CancelledError:
            log.append("saw the cancellation")
            return await pending

    with discarding_unstarted_work():
        task = asyncio.ensure_future(waits(_leaf(log)))
        await asyncio.sleep(0)
        task.cancel()
        assert await task == 1
    assert log == ["saw the cancellation", "leaf ran"]


def test_close_unstarted_leaves_a_finished_coroutine() -> None:
    log: list[str] = []
    coroutine = _leaf(log)
    with pytest.raises(StopIteration):
        coroutine.send(None)
    close_unstarted(coroutine)  # finished: nothing to do, no error
    assert log == ["leaf ran"]


async def test_the_hub_loop_closes_unstarted_work(hub: Any) -> None:
    # A running hub has installed the factory on its loop (the test's loop here).
    assert asyncio.get_running_loop().get_task_factory() is task_factory
