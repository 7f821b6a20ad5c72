"""The one-trip SQLite driver answers exactly as SQLAlchemy's stock aiosqlite adapter does.

The same statements run through an engine of each kind on a file database of their own:
rows, row counts, generated keys, bulk inserts, a RETURNING clause, empty results and
errors come back the same, and each statement costs one call on the driver's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from store.sqlite_trips import install

META = MetaData()
NOTES = Table(
    "notes",
    META,
    Column("id", Integer, primary_key=True),
    Column("label", String, unique=True, nullable=False),
    Column("size", Integer),
)


def engines(tmp_path: Path) -> tuple[AsyncEngine, AsyncEngine]:
    stock = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'stock.db'}")
    one_trip = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}")

    @event.listens_for(one_trip.sync_engine, "connect")
    def one_trip_cursors(dbapi_connection: Any, _record: Any) -> None:
        install(dbapi_connection)  # as the hub's engine does (store/engine.py)

    return stock, one_trip


async def script(engine: AsyncEngine) -> list[Any]:
    """Everything SQLAlchemy reads back from a cursor, in one list."""
    seen: list[Any] = []
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
        one = await conn.execute(insert(NOTES).values(label="a", size=1))
        seen.append(("pk", one.inserted_primary_key))
        many = await conn.execute(insert(NOTES), [{"label": f"m{n}", "size": n} for n in range(5)])
        seen.append(("bulk", many.rowcount))
        changed = await conn.execute(update(NOTES).where(NOTES.c.size >= 3).values(size=0))
        seen.append(("updated", changed.rowcount))
        none = await conn.execute(update(NOTES).where(NOTES.c.label == "nobody").values(size=9))
        seen.append(("updated none", none.rowcount))
        seen.append(("rows", [tuple(r) for r in await conn.execute(select(NOTES))]))
        seen.append(("mapping", [dict(r._mapping) for r in await conn.execute(select(NOTES))]))
        seen.append(("empty", (await conn.execute(select(NOTES).where(NOTES.c.id < 0))).all()))
        seen.append(("first", (await conn.execute(select(NOTES.c.label))).first()))
        returned = await conn.execute(
            insert(NOTES).values(label="r", size=7).returning(NOTES.c.id, NOTES.c.size)
        )
        seen.append(("returning", returned.all()))
        seen.append(("scalar", await conn.scalar(text("SELECT count(*) FROM notes"))))
    for bad, kind in (
        (insert(NOTES).values(label="a", size=2), IntegrityError),
        (text("SELEC nonsense"), OperationalError),
    ):
        with pytest.raises(kind) as raised:
            async with engine.begin() as conn:
                await conn.execute(bad)
        seen.append(("error", type(raised.value.orig).__name__))
    async with engine.connect() as conn:
        seen.append(("after errors", await conn.scalar(text("SELECT count(*) FROM notes"))))
    return seen


async def test_the_one_trip_driver_reads_back_what_the_stock_driver_does(
    tmp_path: Path,
) -> None:
    stock, one_trip = engines(tmp_path)
    try:
        expected = await script(stock)
        assert await script(one_trip) == expected
    finally:
        await stock.dispose()
        await one_trip.dispose()
    # The script did something worth comparing.
    assert ("updated", 2) in expected and ("error", "IntegrityError") in expected


async def test_a_statement_is_one_trip_to_the_drivers_thread_instead_of_four(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = 0
    real: Callable[..., Any] = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    stock, one_trip = engines(tmp_path)
    try:
        counts = []
        for engine in (stock, one_trip):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))  # connected, warmed
                trips = 0
                for _ in range(10):
                    assert (await conn.execute(text("SELECT 1, 2"))).all() == [(1, 2)]
                counts.append(trips)
    finally:
        await stock.dispose()
        await one_trip.dispose()
    assert counts == [40, 10]


@pytest.mark.parametrize(
    "stored",
    [
        '["IDENTITY", "LEGAL"]',
        '{"a": [1, 2.5, null, true], "b": {"c": "\\u00e9\\u17a2"}}',
        "[1e400, -0.0, 0.1]",
        "[NaN, Infinity, -Infinity]",
        "[123456789012345678901234567890]",
        "[18446744073709551616, -9223372036854775809, 9223372036854775807]",
        '["\\ud800"]',
        '{"k": 1, "k": 2}',
        '"text"',
        "null",
    ],
)
def test_json_columns_read_back_as_the_standard_library_reads_them(stored: str) -> None:
    import json
    import math

    from store.sqlite_json import load_json

    got, expected = load_json(stored), json.loads(stored)
    # NaN is not equal to itself: compare its text.
    assert repr(got) == repr(expected) and type(got) is type(expected)
    assert not isinstance(got, float) or not math.isnan(got)
