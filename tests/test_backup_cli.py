"""Backups that restore: ``referral-hub backup`` while the hub writes, then ``restore``,
then ``audit verify`` on what came back.

Real processes on real SQLite files; the writer is the hub's own services, reading survivor
data as another organisation so that every read appends to the hash-chained disclosure log.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cases import service as cases
from orgs.rules import OrganizationKind
from store.engine import Database
from store.sealed import FieldCipher
from tests.test_cli import TIMEOUT, cli_env
from tests.test_data_keys_cli import K1, b64, member, populate

DATA_KEYS = f"k1:{b64(K1)}"


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=db.parent,
        env=cli_env(HUB_DATABASE_URL=f"sqlite+aiosqlite:///{db}", HUB_DATA_KEYS=DATA_KEYS),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def entries(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        value: int = conn.execute("SELECT COUNT(*) FROM disclosures").fetchone()[0]
    conn.close()
    return value


class Writer:
    """Legal aid reading every case, again and again, in a thread of its own: each read
    appends disclosure entries, so the database changes under the backup."""

    def __init__(self, db: Path, legal_org: str, case_ids: list[str]) -> None:
        self.db, self.legal_org, self.case_ids = db, legal_org, case_ids
        self.stop = threading.Event()
        self.started = threading.Event()
        self.reads = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._loop())
        except BaseException as exc:
            self.error = exc

    async def _loop(self) -> None:
        db = Database(f"sqlite+aiosqlite:///{self.db}")
        cipher = FieldCipher({"k1": K1}, "k1")
        try:
            while not self.stop.is_set():
                for case_id in self.case_ids:
                    reader = member(
                        self.legal_org, OrganizationKind.LEGAL_AID, f"w-{self.reads}-{case_id[:6]}"
                    )
                    await cases.read_cases(db, reader, cipher, case_ids=[case_id])
                self.reads += 1
                self.started.set()
        finally:
            await db.dispose()

    def __enter__(self) -> Writer:
        self.thread.start()
        assert self.started.wait(TIMEOUT), self.error
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(TIMEOUT)
        assert self.error is None, repr(self.error)


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """A migrated database holding cases, consent and disclosures, made by the services."""
    db = tmp_path / "live" / "hub.db"
    db.parent.mkdir()
    upgraded = run(db, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    asyncio.run(populate(f"sqlite+aiosqlite:///{db}"))
    return db


def legal_and_cases(db: Path) -> tuple[str, list[str]]:
    with sqlite3.connect(db) as conn:
        legal = conn.execute("SELECT id FROM organizations WHERE name = 'Legal aid'").fetchone()[0]
        case_ids = [row[0] for row in conn.execute("SELECT id FROM cases ORDER BY id")]
    conn.close()
    return legal, case_ids


def test_a_backup_taken_while_the_hub_writes_restores_and_verifies(
    live: Path, tmp_path: Path
) -> None:
    legal, case_ids = legal_and_cases(live)
    snapshots = [tmp_path / f"snapshot-{n}.db" for n in range(3)]
    with Writer(live, legal, case_ids) as writer:
        for snapshot in snapshots:
            reads_before = writer.reads
            done = run(live, "backup", str(snapshot))
            assert done.returncode == 0, done.stderr
            assert "HUB_DATA_KEYS" in done.stderr, "the operator is told what to keep with it"
        assert writer.reads > reads_before, "the hub kept writing during the backups"
    final = entries(live)

    counts = []
    for n, snapshot in enumerate(snapshots):
        assert not Path(f"{snapshot}-wal").exists(), "a backup is one self-contained file"
        target = tmp_path / f"restored-{n}" / "hub.db"
        target.parent.mkdir()
        restored = run(target, "restore", str(snapshot))
        assert restored.returncode == 0, restored.stderr
        verified = run(target, "audit", "verify")
        assert verified.returncode == 0, verified.stderr
        counts.append(entries(target))
        assert f"disclosure log intact: {counts[-1]} entries" in verified.stdout
    assert counts == sorted(counts) and 0 < counts[0] and counts[-1] <= final


def test_restore_keeps_the_database_it_replaces(live: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.db"
    assert run(live, "backup", str(snapshot)).returncode == 0
    with sqlite3.connect(live) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = entries(live)
    restored = run(live, "restore", str(snapshot))
    assert restored.returncode == 0, restored.stderr
    kept = [p for p in live.parent.iterdir() if ".before-restore-" in p.name]
    assert len(kept) == 1 and entries(kept[0]) == before
    assert run(live, "audit", "verify").returncode == 0


def test_a_backup_never_overwrites_a_file(live: Path, tmp_path: Path) -> None:
    existing = tmp_path / "existing.db"
    existing.write_text("keep me")
    done = run(live, "backup", str(existing))
    assert done.returncode == 1
    assert "never overwrites" in done.stderr
    assert existing.read_text() == "keep me"


def test_a_snapshot_with_a_broken_disclosure_log_is_not_restored(
    live: Path, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot.db"
    assert run(live, "backup", str(snapshot)).returncode == 0
    tampered = tmp_path / "tampered.db"
    shutil.copyfile(snapshot, tampered)
    with sqlite3.connect(tampered) as conn:
        # The log refuses edits through its triggers; someone with the file drops them.
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("DELETE FROM disclosures WHERE id = (SELECT MIN(id) FROM disclosures)")
    conn.close()
    target = tmp_path / "restored" / "hub.db"
    target.parent.mkdir()
    refused = run(target, "restore", str(tampered))
    assert refused.returncode == 1
    assert "disclosure log broken" in refused.stderr
    assert not target.exists(), "nothing put in place"
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".db")] == []


def test_a_file_that_is_not_a_backup_is_not_restored(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_text("not sqlite at all, but long enough to look like a file" * 20)
    target = tmp_path / "restored" / "hub.db"
    target.parent.mkdir()
    refused = run(target, "restore", str(bogus))
    assert refused.returncode == 1
    assert "is not a SQLite database backup" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not target.exists()


def test_without_pg_dump_the_postgresql_backup_says_what_to_install(tmp_path: Path) -> None:
    env = cli_env(
        HUB_DATABASE_URL="postgresql+asyncpg://hub:pw-not-shown@127.0.0.1:1/referral_hub",
        PATH=str(tmp_path),  # no pg_dump anywhere on it
    )
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "backup", str(tmp_path / "hub.dump")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 1
    reason = done.stderr.strip().splitlines()[-1]
    assert "pg_dump is not installed" in reason and "postgresql-client" in reason
    assert "pg_dump --format=custom --no-owner" in reason
    assert "pw-not-shown" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_restore_of_a_missing_backup_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "var" / "hub.db"
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "restore", "no-such-backup.db"],
        cwd=tmp_path,
        env=cli_env(HUB_DATABASE_URL=f"sqlite+aiosqlite:///{target}"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "referral-hub: no backup at no-such-backup.db"
    assert list(tmp_path.iterdir()) == []


def test_restore_on_postgresql_points_to_pg_restore(tmp_path: Path) -> None:
    backup = tmp_path / "hub.dump"
    backup.write_bytes(b"PGDMP")
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "restore", str(backup)],
        cwd=tmp_path,
        env=cli_env(HUB_DATABASE_URL="postgresql+asyncpg://hub:pw@127.0.0.1:1/referral_hub"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 1
    reason = done.stderr.strip().splitlines()[-1]
    assert "pg_restore" in reason and "audit verify" in reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub.dump"]
