"""Backups that restore: an online SQLite snapshot, and putting one back.

SQLite's backup API copies a consistent snapshot while the hub keeps writing (WAL readers
do not block writers). A snapshot is only as good as the secrets kept with it: without
``HUB_SECRET_KEY`` the signing keys in it cannot sign, without ``HUB_DATA_KEYS`` the sealed
survivor data in it cannot be opened. PostgreSQL is backed up with its own ``pg_dump``.

Neither copies the key store (store/key_store.py), on purpose: a data backup holds no case
key, so a survivor's erasure reaches every backup taken before it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from gateway.dbstate import DatabaseProblem, require_current, shown
from store.key_store import SCHEMA as KEY_SCHEMA
from store.key_store import key_store_path


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    size: int


def _copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database page by page, as one consistent snapshot, into one
    self-contained file (no WAL beside it)."""
    src = sqlite3.connect(source, timeout=15)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            (result,) = dst.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                raise DatabaseProblem(f"the copy of {source} fails its integrity check")
        finally:
            dst.close()
    finally:
        src.close()


def _discard(path: Path) -> None:
    # A staged copy opened by the hub has an (empty) key store attached beside it too.
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
        Path(f"{key_store_path(str(path))}{suffix}").unlink(missing_ok=True)


def backup_sqlite(source: Path, target: Path) -> Snapshot:
    """Snapshot the SQLite database ``source`` into ``target``, which must not exist yet.

    Written under a hidden name and renamed: a backup file that exists is complete.
    """
    if target.exists():
        raise DatabaseProblem(f"{target} exists: a backup never overwrites a file")
    if not target.parent.is_dir():
        raise DatabaseProblem(f"no directory {target.parent} for the backup")
    partial = target.with_name(f".{target.name}.partial")
    _discard(partial)
    try:
        _copy(source, partial)
        partial.rename(target)
    finally:
        _discard(partial)
    return Snapshot(target, target.stat().st_size)


def pg_dump_command(url: str, target: Path) -> list[str]:
    """The ``pg_dump`` call for a PostgreSQL URL (password left to ``PGPASSWORD``)."""
    parsed = make_url(url)
    # asyncpg's `ssl=` is libpq's `sslmode=`; the password never goes on a command line.
    query = {("sslmode" if k == "ssl" else k): v for k, v in parsed.query.items()}
    libpq = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=query,
    ).render_as_string(hide_password=False)
    return [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        # The case keys stay out of data backups (store/key_store.py).
        f"--exclude-schema={KEY_SCHEMA}",
        f"--file={target}",
        f"--dbname={libpq}",
    ]


def require_pg_dump(url: str, target: Path) -> None:
    """Refuse before touching anything when the PostgreSQL backup cannot be made."""
    if target.exists():
        raise DatabaseProblem(f"{target} exists: a backup never overwrites a file")
    if shutil.which("pg_dump") is None:
        raise DatabaseProblem(
            "pg_dump is not installed (Debian: apt-get install postgresql-client, the "
            "server's major version); the backup command is: "
            + " ".join(pg_dump_command(url, target))
        )


def backup_postgres(url: str, target: Path) -> Snapshot:
    """Run ``pg_dump``; the hub does not reimplement what PostgreSQL ships. The dump is a
    consistent snapshot while the hub writes (one repeatable-read transaction)."""
    require_pg_dump(url, target)
    command = pg_dump_command(url, target)
    env = dict(os.environ)
    password = make_url(url).password
    if password is not None:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        Path(target).unlink(missing_ok=True)
        message = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DatabaseProblem(f"pg_dump failed on {shown(url)}: {message}")
    return Snapshot(target, target.stat().st_size)


def stage(snapshot: Path, target: Path) -> Path:
    """Copy a snapshot next to the database it will replace, to be checked there."""
    if not snapshot.is_file():
        raise DatabaseProblem(f"no backup at {snapshot}")
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.resolve().with_name(f".{target.name}.restoring")
    _discard(incoming)
    try:
        _copy(snapshot, incoming)
    except sqlite3.DatabaseError as exc:
        _discard(incoming)
        raise DatabaseProblem(f"{snapshot} is not a SQLite database backup") from exc
    return incoming


async def check_staged(incoming: Path, snapshot: Path) -> None:
    """A restored database must be one this code runs on and whose disclosure log holds."""
    from consent.disclosure import verify
    from store.engine import Database

    url = f"sqlite+aiosqlite:///{incoming}"
    await require_current(url)
    db = Database(url)
    try:
        async with db.read() as session:
            report = await verify(session)
    finally:
        await db.dispose()
    if not report.intact:
        raise DatabaseProblem(
            f"{snapshot}: disclosure log broken at entry {report.first_broken}; not restored"
        )


def swap(incoming: Path, target: Path) -> Path | None:
    """Put a checked copy in place. A database already there is kept beside it, renamed
    with the time, never deleted. Returns where it went. The caller holds the lock."""
    conn = sqlite3.connect(incoming)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    kept: Path | None = None
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{target}{suffix}")
            if old.exists():
                old.rename(Path(f"{kept}{suffix}"))
    incoming.rename(target)
    # The check opened the copy with an (empty) key store beside it; the restored database
    # uses the live key store at its own place, so a restore never brings an erased key back.
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{key_store_path(str(incoming))}{suffix}").unlink(missing_ok=True)
    return kept


def discard(path: Path) -> None:
    """Remove a staged copy that was not put in place."""
    _discard(path)
