"""Running alembic migrations from code, on SQLite and PostgreSQL alike.

Alembic's async template calls ``asyncio.run``, which fails inside a running loop; the
migrations run instead on a connection lent through ``run_sync``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from store.engine import Database, standalone_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (the newest by default)."""
    engine = standalone_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()


async def autogenerate(url: str, message: str) -> None:
    """Write a new revision from the models (a development tool)."""
    engine = standalone_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.revision(
                    alembic_config(sync), message=message, autogenerate=True
                )
            )
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    """The newest migration this code ships (read from the scripts, no database)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(db: Database) -> str | None:
    """The revision the database is at (raises when the database cannot be reached)."""
    async with db.read() as session:
        return (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
