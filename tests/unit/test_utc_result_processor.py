"""UTCDateTime's fused result processor reads every value as the generic composition did:
the column type's own parsing, then ``process_result_value``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.dialects.sqlite import pysqlite

from store.types import UTCDateTime

PHNOM_PENH = timezone(timedelta(hours=7))


def _generic(dialect: Any, value: Any) -> Any:
    """What TypeDecorator's own composition answers for ``value``."""
    typ = UTCDateTime().dialect_impl(dialect)
    parse = typ.impl_instance.result_processor(dialect, None)
    return typ.process_result_value(parse(value) if parse else value, dialect)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "2026-11-30 02:31:25.123456",
        "2026-11-30 02:31:25",
        "2026-02-28 23:59:59.000001",
    ],
)
def test_sqlite_text_reads_as_before(stored: str | None) -> None:
    dialect = pysqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert process is not None
    read = process(stored)
    assert read == _generic(dialect, stored)
    if stored is not None:
        assert read.tzinfo is UTC
        assert read.replace(tzinfo=None) == datetime.fromisoformat(stored)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        datetime(2026, 11, 30, 9, 31, 25, 7, tzinfo=PHNOM_PENH),
        datetime(2026, 11, 30, 2, 31, 25, tzinfo=UTC),
        datetime(2026, 11, 30, 2, 31, 25),  # naive: marked UTC, as process_result_value does
    ],
)
def test_postgresql_values_read_as_before(stored: datetime | None) -> None:
    dialect = asyncpg.dialect()
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert process is not None
    read = process(stored)
    assert read == _generic(dialect, stored)
    if stored is not None:
        assert read.tzinfo is UTC
        assert read.utcoffset() == timedelta(0)
        assert read.isoformat() == _generic(dialect, stored).isoformat()


def test_sqlite_round_trip_keeps_the_instant() -> None:
    table = Table(
        "t", MetaData(), Column("id", String, primary_key=True), Column("at", UTCDateTime)
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    written = {
        "a": datetime(2026, 11, 30, 9, 31, 25, 654321, tzinfo=PHNOM_PENH),
        "b": datetime(2026, 1, 1, tzinfo=UTC),
        "c": None,
    }
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": k, "at": v} for k, v in written.items()])
        read = {row.id: row.at for row in conn.execute(select(table.c.id, table.c.at))}
    engine.dispose()
    assert read == written
    assert read["a"].tzinfo is UTC and read["a"].hour == 2
    assert read["c"] is None
