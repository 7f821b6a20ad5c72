"""Upgrading a hub whose audit trail predates the chain: the entries already there are
chained in the order they were written, and the trail stays append-only."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import make_url

from store.audit import verify_audit
from store.engine import Database
from store.migrate import upgrade
from store.types import UTCDateTime
from tests.network import POSTGRES_URL, _admin

# The audit table as revision 0005 left it, before the chain columns.
OLD_AUDIT = sa.table(
    "audit",
    sa.column("at", UTCDateTime()),
    sa.column("actor_client_id", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.String()),
    sa.column("detail", sa.JSON()),
)


@pytest.fixture
async def empty_url(tmp_path: Path) -> AsyncIterator[str]:
    if POSTGRES_URL is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"hub_migration_{os.getpid()}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_existing_audit_entries_are_chained_by_the_migration(empty_url: str) -> None:
    await upgrade(empty_url, "0005")
    db = Database(empty_url)
    start = datetime(2026, 11, 1, 8, 30, 0, 123456, tzinfo=UTC)
    try:
        async with db.write() as session:
            for n, action in enumerate(("organization.register", "organization.activate")):
                await session.execute(
                    OLD_AUDIT.insert().values(
                        at=start + timedelta(minutes=n),
                        actor_client_id="cli",
                        action=action,
                        subject_type="Organization",
                        subject_id="org-1",
                        detail={"reason": "founding member", "n": n},
                    )
                )
    finally:
        await db.dispose()

    await upgrade(empty_url)

    db = Database(empty_url)
    try:
        async with db.read() as session:
            report = await verify_audit(session)
            seqs = (await session.execute(text("SELECT seq FROM audit ORDER BY id"))).all()
        assert report.intact, report
        assert report.entries == 2
        assert [row[0] for row in seqs] == [1, 2]
        # still append-only after the table was rebuilt
        with pytest.raises(Exception, match="append-only"):
            async with db.write() as session:
                await session.execute(text("UPDATE audit SET action = 'x'"))
    finally:
        await db.dispose()
