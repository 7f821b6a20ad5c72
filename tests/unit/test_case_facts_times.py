"""The case-facts union reads its time slots raw and converts only grant rows' times: those
must come out as a UTCDateTime column gives them, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect

from cases.case_facts import _times, facts_statement

BANGKOK = timezone(timedelta(hours=7))


def _grant_row(valid_from: object, valid_until: object, withdrawn: object) -> list[object]:
    return ["G", "case-1", "grant-1", 2, '["LEGAL_AID"]', '["IDENTITY"]', valid_from,
            valid_until, '["org-1"]', "[]", withdrawn]  # fmt: skip


def test_sqlite_times_are_parsed_and_marked_utc() -> None:
    row = _grant_row("2026-11-30 02:30:00.000001", None, "2026-12-01 00:00:00.000000")
    out = _times(aiosqlite_dialect(), row)
    assert out[4] == datetime(2026, 11, 30, 2, 30, 0, 1, tzinfo=UTC)
    assert out[4].tzinfo is UTC
    assert out[5] is None
    assert out[8] == datetime(2026, 12, 1, tzinfo=UTC)
    # Every other slot is passed through untouched, in place.
    assert [out[i] for i in (0, 1, 2, 3, 6, 7)] == [row[i + 2] for i in (0, 1, 2, 3, 6, 7)]


def test_postgresql_times_are_brought_to_utc() -> None:
    local = datetime(2026, 11, 30, 9, 30, tzinfo=BANGKOK)
    out = _times(asyncpg_dialect(), _grant_row(local, local, None))
    assert out[4] == local and out[4].tzinfo is UTC and out[4].hour == 2
    assert out[5].tzinfo is UTC
    assert out[8] is None


def test_the_sql_still_types_every_null_time() -> None:
    """Raw in Python only: PostgreSQL still sees typed NULL times in every branch."""
    statement = facts_statement(True, True, "named")
    on_postgresql = str(statement.compile(dialect=postgresql.dialect()))
    assert on_postgresql.count("CAST(NULL AS TIMESTAMP WITH TIME ZONE)") >= 3 * 4
    assert "CAST(NULL AS DATETIME)" in str(statement.compile(dialect=sqlite.dialect()))
