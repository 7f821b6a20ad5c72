"""Fixtures: the demo network is built once per run; every test gets its own copy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.marker_watch import pytest_configure, pytest_sessionfinish, pytest_testnodedown
from tests.network import RunningHub, Template, build_template, drop_template, serve_hub

# The run-wide survivor-marker watch (logs at DEBUG, databases, files left behind).
__all__ = ["pytest_configure", "pytest_sessionfinish", "pytest_testnodedown"]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    workdir: Path = tmp_path_factory.mktemp("hub")
    built = asyncio.run(build_template(workdir))
    yield built
    asyncio.run(drop_template(built))


@pytest.fixture
async def hub(template: Template, request: pytest.FixtureRequest) -> AsyncIterator[RunningHub]:
    # The answer cache is on, as in production, unless the test is marked no_answer_cache.
    overrides: dict[str, float] = {}
    if request.node.get_closest_marker("no_answer_cache") is not None:
        overrides["answer_cache_seconds"] = 0.0
    async with serve_hub(template, **overrides) as running:
        yield running
