"""The disclosure insert binds each distinct value once: what reaches the driver must be
exactly what the typed insert would have bound, row by row, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Dialect
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect

from consent.disclosure import _COLUMNS, _TABLE, _bound

DIALECTS = [aiosqlite_dialect(), asyncpg_dialect()]
BANGKOK = timezone(timedelta(hours=7))


def _row(n: int, at: datetime, categories: list[str]) -> dict[str, object]:
    return {
        "id": n,
        "at": at,
        "organization_id": "org-1",
        "case_id": f"case-{n}",
        "categories": categories,
        "consent_grant_id": f"grant-{n % 2}",
        "consent_version": 1,
        "channel": "QUERY",
        "request_id": None,
        "staff_id": None,
        "prev_hash": f"p{n}",
        "hash": f"h{n}",
    }


def _typed(row: dict[str, object], dialect: Dialect) -> dict[str, object]:
    """What SQLAlchemy's typed insert binds for ``row``: every column's own processing."""
    out: dict[str, object] = {}
    for name in _COLUMNS:
        processor = _TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        value: Any = row[name]
        out[name] = processor(value) if processor is not None else value
    return out


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: str(d.name))
def test_every_row_binds_as_the_typed_insert_would(dialect: Dialect) -> None:
    at = datetime(2026, 11, 30, 9, 30, 1, 123456, tzinfo=BANGKOK)
    rows = [
        _row(n, at, cats)
        for n, cats in enumerate(
            [["IDENTITY"], ["IDENTITY", "LEGAL"], ["IDENTITY"], ["HEALTH"], ["IDENTITY", "LEGAL"]],
            start=1,
        )
    ]
    bound = _bound(rows, dialect)
    assert bound == [_typed(row, dialect) for row in rows]
    # Distinct category lists stay distinct (the memo never hands one row another's value).
    assert len({str(b["categories"]) for b in bound}) == 3
    assert rows[0]["at"] == at  # the caller's rows are not changed


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: str(d.name))
def test_naive_time_is_still_refused(dialect: Dialect) -> None:
    with pytest.raises(ValueError, match="naive datetime refused"):
        _bound([_row(1, datetime(2026, 11, 30, 9, 30), ["IDENTITY"])], dialect)


def test_sqlite_time_is_stored_as_utc() -> None:
    at = datetime(2026, 11, 30, 9, 30, tzinfo=BANGKOK)
    (bound,) = _bound([_row(1, at, ["IDENTITY"])], aiosqlite_dialect())
    assert bound["at"] == "2026-11-30 02:30:00.000000"
    assert at.astimezone(UTC).hour == 2
