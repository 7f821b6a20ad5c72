"""Every table bumps SQLite's data generation on every write (store/generation.py): the
answer cache's validity rests on it, so a table without its three triggers fails here, be it
a new model, a new migration's table or a table a batch migration rebuilt without them."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from sqlalchemy import text

import store.generation
from store.base import Base
from store.engine import standalone_engine
from store.generation import TABLE, WRITES, trigger_name
from store.migrate import upgrade


def _register_every_model() -> None:
    """Import what the migrations' env.py imports: every model the schema is made of."""
    env = Path(store.generation.__file__).parent / "migrations" / "env.py"
    for node in ast.walk(ast.parse(env.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                importlib.import_module(node.module)
                try:
                    importlib.import_module(f"{node.module}.{alias.name}")
                except ModuleNotFoundError:
                    pass


async def test_every_table_at_head_has_its_three_triggers(tmp_path: Path) -> None:
    _register_every_model()
    url = f"sqlite+aiosqlite:///{tmp_path / 'head.db'}"
    await upgrade(url)
    engine = standalone_engine(url)
    try:
        async with engine.connect() as connection:
            tables = {
                row[0]
                for row in await connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'table'")
                )
            }
            triggers = {
                (row[0], row[1])
                for row in await connection.execute(
                    text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
                )
            }
    finally:
        await engine.dispose()
    # The one table not in the main database: the key store's case keys, in a file of its own
    # (store/key_store.py), where a trigger may not write the main database's counter. Keys
    # only open sealed fields, whose answers are never cached (each read is a disclosure);
    # a key is made with its case's rows and destroyed with a ``case_erasures`` row, both
    # in the main database, so their writes bump the generation anyway.
    elsewhere = {name for name in Base.metadata.tables if "." in name}
    assert elsewhere == {"keystore.case_keys"}
    modelled = set(Base.metadata.tables) - elsewhere
    assert TABLE in modelled and TABLE in tables
    assert len(modelled) > 40, "the models were not all registered"
    assert modelled <= tables, "a model without a migration"
    missing = [
        (table, write)
        for table in sorted((tables | modelled) - {TABLE, "alembic_version"})
        if not table.startswith("sqlite_")
        for write in WRITES
        if (trigger_name(table, write), table) not in triggers
    ]
    assert missing == [], "tables whose writes would not bump the data generation"


async def test_a_write_bumps_the_generation(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bump.db'}"
    await upgrade(url)
    engine = standalone_engine(url)
    generation = text(f"SELECT value FROM {TABLE} WHERE id = 1")
    try:
        async with engine.begin() as connection:
            start = (await connection.execute(generation)).scalar_one()
            await connection.execute(
                text(
                    "INSERT INTO revoked_tokens VALUES ('j', 'c', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            inserted = (await connection.execute(generation)).scalar_one()
            await connection.execute(text("UPDATE revoked_tokens SET jti = 'k'"))
            updated = (await connection.execute(generation)).scalar_one()
            await connection.execute(text("DELETE FROM revoked_tokens"))
            deleted = (await connection.execute(generation)).scalar_one()
    finally:
        await engine.dispose()
    assert start < inserted < updated < deleted
