"""What the command line needs to know about a database before it touches one.

An operator who runs a maintenance command in the wrong directory, or before the first
``db upgrade``, must get one line saying so, not a driver traceback and a new empty file
that the next command then mistakes for the hub's database.
"""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from store.migrate import alembic_config


class DatabaseProblem(Exception):
    """The database is missing, unreadable or not at the code's migration; one line."""


def shown(url: str) -> str:
    """The URL as it may be printed: never with its password."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, ``None`` for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def code_heads() -> set[str]:
    """The migration heads this code expects."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _database_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def first_line(exc: BaseException) -> str:
    """A driver error's first line: names what failed, carries no statement parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


async def require_current(url: str) -> None:
    """Refuse, in one line, a database that is missing, unreadable or not migrated.

    Checks the file first for SQLite: connecting would create an empty database.
    """
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise DatabaseProblem(
            f"no database at {path}: run `referral-hub db upgrade` "
            "(or `referral-hub demo`) first, or set HUB_DATABASE_URL"
        )
    engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(_database_heads)
    except (DBAPIError, OSError) as exc:
        raise DatabaseProblem(f"cannot open the database {shown(url)}: {first_line(exc)}") from exc
    finally:
        await engine.dispose()
    if not found:
        raise DatabaseProblem(
            f"the database {shown(url)} is not migrated: run `referral-hub db upgrade` first"
        )
    expected = code_heads()
    if found != expected:
        raise DatabaseProblem(
            f"the database {shown(url)} is at migration {', '.join(sorted(found))}, "
            f"this code needs {', '.join(sorted(expected))}: run `referral-hub db upgrade`"
        )
