"""The data generation: a value that changes whenever committed data may have changed.

Read in the same statement as a request's token check (gateway/oauth/verify.py), it says
whether an answer computed earlier over the same data may be served again
(gateway/answers.py).

SQLite: a one-row counter, ``data_generation``, bumped by three triggers (after INSERT,
UPDATE and DELETE) on every other table. Every write, from this process or any other (the
command line, a restore), bumps it in the writing transaction. A table added later needs its
triggers (``add_triggers`` in its migration; a table rebuilt by a batch migration loses them
and must get them again): tests/unit/test_data_generation.py fails for any table without.

PostgreSQL: no triggers (one hot row would serialise every writer). ``pg_current_snapshot()``
is ``xmin:xmax:xip-list``: transactions below ``xmin`` have ended, those from ``xmax`` on had
not started, and ``xip`` lists the ones between still running. Whether a transaction that
ended committed or aborted never changes afterwards, so two snapshots with equal xmin, xmax
and xip list see exactly the same committed rows; any commit between them moves xmax or
empties an xip entry (a read-only transaction takes no transaction id and changes
nothing). Equal text therefore means unchanged data; the converse need not hold (a
transaction that aborts or merely starts changes the text too), which only costs a miss.

On PostgreSQL a request's later statements may see a commit made after its token check read
the snapshot (read committed): its answer, stored under that snapshot's text, is then newer
than the text says, never older, and no request starting after that commit can read the
same text again (the commit moved xmax or left xip). On SQLite the request's statements
share one read transaction (store/reads.py), so its answer is exactly the counter's data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from store.base import Base

TABLE = "data_generation"
WRITES = ("INSERT", "UPDATE", "DELETE")


class DataGeneration(Base):
    """SQLite's generation counter (one row, id 1); unused on PostgreSQL."""

    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class data_generation(FunctionElement[str]):
    """The generation as one column of a SELECT (see the module's docstring)."""

    type = String()
    name = "data_generation"
    inherit_cache = True


@compiles(data_generation)
def _sqlite_generation(element: data_generation, compiler: Any, **kw: Any) -> str:
    return f"(SELECT value FROM {TABLE} WHERE id = 1)"  # noqa: S608 - a constant name


@compiles(data_generation, "postgresql")
def _postgresql_generation(element: data_generation, compiler: Any, **kw: Any) -> str:
    return "CAST(pg_current_snapshot() AS TEXT)"


def trigger_name(table: str, write: str) -> str:
    return f"{TABLE}_{table}_{write.lower()}"


def trigger_ddl(table: str) -> list[str]:
    """SQLite: the three statements that make every write to ``table`` bump the counter."""
    # Table names come from the schema itself (a migration's or the database's own list).
    return [
        f'CREATE TRIGGER IF NOT EXISTS "{trigger_name(table, write)}" AFTER {write} '  # noqa: S608
        f'ON "{table}" FOR EACH ROW BEGIN '
        f"UPDATE {TABLE} SET value = value + 1 WHERE id = 1; END"
        for write in WRITES
    ]


def drop_trigger_ddl(table: str) -> list[str]:
    return [f'DROP TRIGGER IF EXISTS "{trigger_name(table, write)}"' for write in WRITES]


def counted_tables(names: list[str]) -> list[str]:
    """The tables that need triggers: all but the counter and alembic's own."""
    return [n for n in names if n not in (TABLE, "alembic_version") and not n.startswith("sqlite_")]


def add_triggers(op: Any, *tables: str) -> None:
    """For a migration that creates (or rebuilds) tables: their triggers, on SQLite only."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in tables:
        for statement in trigger_ddl(table):
            op.execute(statement)
