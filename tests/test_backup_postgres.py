"""``referral-hub backup`` on PostgreSQL: a ``pg_dump`` that ``pg_restore`` puts back into an
empty database on which ``audit verify`` passes. Runs when the suite runs on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from store.migrate import upgrade
from tests.network import POSTGRES_URL, _admin, backend
from tests.test_cli import TIMEOUT, cli_env
from tests.test_data_keys_cli import K1, b64, populate

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="pg_dump and pg_restore need the PostgreSQL backend"
)


def url_of(name: str) -> str:
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def run(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=cwd,
        env=cli_env(HUB_DATABASE_URL=url, HUB_DATA_KEYS=f"k1:{b64(K1)}"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_a_pg_dump_backup_restores_and_verifies(tmp_path: Path) -> None:
    source, restored = f"hub_backup_src_{os.getpid()}", f"hub_backup_dst_{os.getpid()}"
    for name in (source, restored):
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(upgrade(url_of(source)))
        asyncio.run(populate(url_of(source)))
        original = run(url_of(source), tmp_path, "audit", "verify")
        assert original.returncode == 0, original.stderr
        entries = re.search(r"intact: (\d+) entries", original.stdout)
        assert entries and int(entries.group(1)) > 0

        dump = tmp_path / "hub.dump"
        done = run(url_of(source), tmp_path, "backup", str(dump))
        assert done.returncode == 0, done.stderr
        assert dump.stat().st_size > 0
        password = make_url(url_of(source)).password
        assert password is None or f":{password}@" not in done.stderr + done.stdout

        libpq = make_url(url_of(restored)).set(drivername="postgresql", password=None)
        env = dict(os.environ, PGPASSWORD=str(password or ""))
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={libpq.render_as_string(False)}", str(dump)],
            env=env,
            check=True,
            capture_output=True,
            timeout=TIMEOUT,
        )
        verified = run(url_of(restored), tmp_path, "audit", "verify")
        assert verified.returncode == 0, verified.stderr
        assert f"intact: {entries.group(1)} entries" in verified.stdout
    finally:
        for name in (source, restored):
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_backup_of_a_database_that_is_not_there_is_refused(tmp_path: Path) -> None:
    done = run(url_of(f"hub_absent_{os.getpid()}"), tmp_path, "backup", str(tmp_path / "x.dump"))
    assert done.returncode == 1
    assert "does not exist" in done.stderr
    assert not (tmp_path / "x.dump").exists()
