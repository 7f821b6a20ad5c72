"""Steps the tamper-evidence tests share: partners reading a case, an operator at the CLI,
and someone with write access to the database file who tries to rewrite history."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text

from store.audit import AuditEntry, entry_hash
from store.chain import GENESIS
from tests.api.test_disclosure_chain import READ, READERS, consented_case
from tests.network import RunningHub, backend

CLI_TIMEOUT = 60


async def partners_read(hub: RunningHub, times: int) -> str:
    """A consented case that partners read ``times`` times: one disclosure entry each."""
    case_id, _ = await consented_case(hub)
    for i in range(times):
        result = await hub.gql(READERS[i % 2], READ, {"id": case_id})
        assert not result.errors, result.errors
    return case_id


async def drop_guards(hub: RunningHub, table: str) -> None:
    """What anyone with write access to the database can do: remove the append-only triggers."""
    if backend() == "postgresql":
        statements = [f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}"]
        if table == "audit":
            statements.append("DROP TRIGGER IF EXISTS audit_no_truncate ON audit")
    else:
        statements = [f"DROP TRIGGER IF EXISTS {table}_no_{verb}" for verb in ("update", "delete")]
    async with hub.db.write() as session:
        for statement in statements:
            await session.execute(text(statement))


async def tamper(hub: RunningHub, sql: str, **params: object) -> None:
    async with hub.db.write() as session:
        await session.execute(text(sql), params)


async def recompute_audit_chain(hub: RunningHub) -> None:
    """Rewrite every audit entry's links so the edited chain verifies on its own."""
    async with hub.db.write() as session:
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        prev = GENESIS
        for row in rows:
            digest = entry_hash(
                prev,
                row.seq,
                row.at,
                row.actor_organization_id,
                row.actor_client_id,
                row.action,
                row.subject_type,
                row.subject_id,
                row.detail,
                row.request_id,
            )
            row_links = {"p": prev, "h": digest, "id": row.id}
            await session.execute(
                text("UPDATE audit SET prev_hash = :p, hash = :h WHERE id = :id"), row_links
            )
            prev = digest
        session.expunge_all()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


async def cli(hub: RunningHub, *args: str, cwd: Path) -> CliResult:
    """``referral-hub ARGS`` as an operator runs it, on the hub's own database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = hub.settings.database_url
    env["HUB_PUBLIC_URL"] = hub.settings.public_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(CLI_TIMEOUT):
        out, err = await process.communicate()
    assert process.returncode is not None
    # Every command first names the database it works on; the rest is what it found.
    named, _, rest = err.decode().partition("\n")
    assert named.startswith("referral-hub: database "), named
    return CliResult(process.returncode, out.decode(), rest)
