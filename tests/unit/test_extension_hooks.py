"""Hooks found once per extension class run exactly as strawberry's own: the same hooks, in
the same order, on the right instance, with errors reaching them the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner

from schema.extension_hooks import RememberedHooksRunner

Log = list[str]


class SyncHooks(SchemaExtension):
    def __init__(self, log: Log, name: str) -> None:
        self.log = log
        self.name = name

    def on_operation(self) -> Iterator[None]:
        self.log.append(f"{self.name} operation in")
        try:
            yield
        except RuntimeError:
            self.log.append(f"{self.name} operation saw the error")
            raise
        self.log.append(f"{self.name} operation out")

    def on_parse(self) -> Iterator[None]:
        self.log.append(f"{self.name} parse in")
        yield
        self.log.append(f"{self.name} parse out")


class AsyncHooks(SchemaExtension):
    def __init__(self, log: Log, name: str) -> None:
        self.log = log
        self.name = name

    async def on_operation(self) -> AsyncIterator[None]:
        self.log.append(f"{self.name} async operation in")
        yield
        self.log.append(f"{self.name} async operation out")

    async def on_execute(self) -> AsyncIterator[None]:
        self.log.append(f"{self.name} execute in")
        yield
        self.log.append(f"{self.name} execute out")


class PlainCallables(SchemaExtension):
    """Hooks that are plain methods, not generators: left to strawberry's own wrapping."""

    def __init__(self, log: Log) -> None:
        self.log = log

    def on_validate(self) -> None:  # type: ignore[override]
        self.log.append("plain validate")

    async def on_execute(self) -> None:  # type: ignore[override]
        self.log.append("plain coroutine execute")


def extensions(log: Log) -> list[SchemaExtension]:
    return [SyncHooks(log, "a"), AsyncHooks(log, "b"), PlainCallables(log), SyncHooks(log, "c")]


async def run_stages(runner: SchemaExtensionsRunner, fail: bool = False) -> None:
    async with runner.operation():
        async with runner.parsing():
            pass
        async with runner.validation():
            pass
        async with runner.executing():
            if fail:
                raise RuntimeError("boom")


def context() -> Any:
    return object()


async def test_the_same_hooks_run_in_the_same_order_as_strawberrys_runner() -> None:
    theirs: Log = []
    ours: Log = []
    await run_stages(SchemaExtensionsRunner(context(), extensions(theirs)))
    for _ in range(2):  # the second time from what the first remembered
        ours.clear()
        await run_stages(RememberedHooksRunner(context(), extensions(ours)))
        assert ours == theirs
    assert "a operation in" in ours and "c parse out" in ours
    assert "plain validate" in ours and "plain coroutine execute" in ours
    assert ours.index("b execute in") < ours.index("plain coroutine execute")


async def test_an_error_reaches_the_hooks_as_it_does_in_strawberrys_runner() -> None:
    theirs: Log = []
    ours: Log = []
    with pytest.raises(RuntimeError):
        await run_stages(SchemaExtensionsRunner(context(), extensions(theirs)), fail=True)
    with pytest.raises(RuntimeError):
        await run_stages(RememberedHooksRunner(context(), extensions(ours)), fail=True)
    assert ours == theirs
    assert "a operation saw the error" in ours and "a operation out" not in ours


async def test_each_operation_binds_hooks_to_its_own_extension_instances() -> None:
    first: Log = []
    second: Log = []
    await run_stages(RememberedHooksRunner(context(), [SyncHooks(first, "x")]))
    await run_stages(RememberedHooksRunner(context(), [SyncHooks(second, "y")]))
    assert first and all(entry.startswith("x ") for entry in first)
    assert second and all(entry.startswith("y ") for entry in second)


def test_the_hub_schema_runs_its_extensions_through_the_remembering_runner() -> None:
    from schema.build import build_schema

    schema = build_schema(introspection=True)
    runner = schema.create_extensions_runner(context(), [])  # type: ignore[arg-type]
    assert isinstance(runner, RememberedHooksRunner)
