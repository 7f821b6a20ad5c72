"""The operator's ``referral-hub`` command line, run as a real process on a SQLite file.

These exercise the command line, not the database, so they always use SQLite.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

# These tests start the hub as a process (the demo takes its time): their own waits bound them.
pytestmark = pytest.mark.timeout(300)


TIMEOUT = 60
# The demo builds a whole network with months of history before it prints its sign-ins:
# half a minute on a quiet two-core machine, more beside a parallel test run.
READY_TIMEOUT = 150


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The operator's current directory."""
    return tmp_path


def db_file(workdir: Path) -> Path:
    return workdir / "hub.db"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh operator shell: no HUB_ settings but the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(extra)
    return env


def sqlite_env(workdir: Path, **extra: str) -> dict[str, str]:
    return cli_env(HUB_DATABASE_URL=f"sqlite+aiosqlite:///{db_file(workdir)}", **extra)


def run(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=workdir,
        env=env if env is not None else sqlite_env(workdir),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def count(workdir: Path, table: str) -> int:
    with sqlite3.connect(db_file(workdir)) as conn:
        value: int = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return value


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- db upgrade, init, keys ------------------------------------------------------------------


def test_db_upgrade_can_run_twice(workdir: Path) -> None:
    first = run(workdir, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stdout
    assert db_file(workdir).exists()
    again = run(workdir, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert count(workdir, "organizations") == 0


def test_init_creates_the_first_coordinator_and_shows_its_secret_once(workdir: Path) -> None:
    first = run(workdir, "init", "--json")
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)
    assert created["created"] is True
    assert created["organization_id"] and created["client_id"]
    assert created["client_secret"].startswith("rhs_")
    assert created["token_url"] == "http://127.0.0.1:8000/oauth/token"
    assert created["graphql_url"] == "http://127.0.0.1:8000/graphql"
    with sqlite3.connect(db_file(workdir)) as conn:
        kind, status = conn.execute(
            "SELECT kind, status FROM organizations WHERE id = ?", (created["organization_id"],)
        ).fetchone()
        scopes = conn.execute(
            "SELECT scopes FROM api_clients WHERE client_id = ?", (created["client_id"],)
        ).fetchone()[0]
    assert (kind, status) == ("COORDINATOR", "ACTIVE")
    assert "network:admin" in scopes.split()
    assert "pii:read" not in scopes.split()
    tables = ("organizations", "api_clients", "membership_changes", "events", "audit")
    before = {t: count(workdir, t) for t in tables}

    second = run(workdir, "init", "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert "client_secret" not in again
    assert created["client_secret"] not in second.stdout
    assert again["created"] is False
    assert again["organization_id"] == created["organization_id"]
    assert again["client_id"] == created["client_id"]
    assert {t: count(workdir, t) for t in tables} == before


def test_the_operator_issues_a_registration_token_not_a_secret(workdir: Path) -> None:
    created = json.loads(run(workdir, "init", "--json").stdout)
    issued = run(workdir, "registration-token", created["organization_id"], "--hours", "2")
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)
    assert token["token"].startswith("rhr_")
    assert token["organization_id"] == created["organization_id"]
    assert token["registration_url"] == "http://127.0.0.1:8000/oauth/register"
    with sqlite3.connect(db_file(workdir)) as conn:
        (stored,) = conn.execute("SELECT token_hash FROM registration_tokens").fetchone()
    assert stored and token["token"] not in stored
    for bad in (
        ["00000000-0000-0000-0000-000000000000"],
        [created["organization_id"], "--hours", "0"],
    ):
        refused = run(workdir, "registration-token", *bad)
        assert refused.returncode == 1 and refused.stdout == "", refused.stderr
    assert count(workdir, "registration_tokens") == 1


def test_init_without_json_says_nothing_changed_the_second_time(workdir: Path) -> None:
    assert run(workdir, "init").returncode == 0
    second = run(workdir, "init")
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert "rhs_" not in second.stdout
    assert count(workdir, "organizations") == 1


def test_keys_rotate_publishes_a_new_key(workdir: Path) -> None:
    assert run(workdir, "db", "upgrade").returncode == 0
    first = run(workdir, "keys", "rotate")
    assert first.returncode == 0, first.stderr
    kid = json.loads(first.stdout)["kid"]
    assert kid
    second = run(workdir, "keys", "rotate")
    assert second.returncode == 0, second.stderr
    next_kid = json.loads(second.stdout)["kid"]
    assert next_kid != kid
    with sqlite3.connect(db_file(workdir)) as conn:
        rows = dict(conn.execute("SELECT kid, published_until FROM signing_keys").fetchall())
    assert set(rows) == {kid, next_kid}
    assert rows[kid] is not None, "the old key gets a retirement date"
    assert rows[next_kid] is None


# --- production refuses development defaults -----------------------------------------------


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["init"], ["keys", "rotate"]])
def test_production_without_settings_refuses_to_start(workdir: Path, command: list[str]) -> None:
    result = run(workdir, *command, env=cli_env(HUB_ENV="production"))
    assert result.returncode == 2
    assert "production" in result.stderr
    for name in ("HUB_DATABASE_URL", "HUB_PUBLIC_URL", "HUB_SECRET_KEY"):
        assert name in result.stderr
    assert result.stdout == ""
    assert list(workdir.iterdir()) == [], "nothing may be created before the settings are checked"


def test_the_demo_refuses_to_run_in_production(workdir: Path) -> None:
    env = sqlite_env(
        workdir,
        HUB_ENV="production",
        HUB_PUBLIC_URL="https://hub.example.org",
        HUB_SECRET_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    )
    result = run(workdir, "demo", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "production" in result.stderr
    assert not (workdir / "var").exists()


# --- serving -------------------------------------------------------------------------------


class Server:
    """A ``referral-hub`` process serving on a port; its stdout is read line by line."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str]) -> None:
        self.stderr = (workdir / "server.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *args],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def read_json(self) -> dict[str, Any]:
        """Read stdout until it holds one complete JSON object."""
        text = ""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the process ended early: {self.log()}"
            text += line
            try:
                parsed: dict[str, Any] = json.loads(text)
            except json.JSONDecodeError:
                continue
            return parsed

    def wait_healthy(self, base_url: str) -> httpx.Response:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the process ended early: {self.log()}"
            try:
                response = httpx.get(f"{base_url}/healthz", timeout=5)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            return response
        raise AssertionError(f"the hub did not answer: {self.log()}")

    def log(self) -> str:
        self.stderr.flush()
        return Path(self.stderr.name).read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.reader.join(timeout=15)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def test_the_demo_serves_a_whole_network(workdir: Path, servers: list[Server]) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = Server(workdir, ["demo", "--port", str(port), "--json"], sqlite_env(workdir))
    servers.append(server)

    demo = server.read_json()
    assert demo["token_url"] == f"{base_url}/oauth/token"
    assert demo["graphql_url"] == f"{base_url}/graphql"
    members = {m["key"]: m for m in demo["members"]}
    assert len(demo["members"]) == len(members) == 11
    assert members["secretariat"]["kind"] == "COORDINATOR"
    assert sum(m["kind"] == "EMBASSY" for m in members.values()) == 3

    assert server.wait_healthy(base_url).status_code == 200
    shelter = members["ccpcr-shelter"]
    with OAuth2Client(shelter["client_id"], shelter["client_secret"]) as oauth:
        token = oauth.fetch_token(demo["token_url"], grant_type="client_credentials")
    response = httpx.post(
        demo["graphql_url"],
        json={"query": "{ viewer { organization { name } } }"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert response.status_code == 200, f"{response.text}\n{server.log()}"
    assert response.json() == {
        "data": {"viewer": {"organization": {"name": "CCPCR Shelter Phnom Penh"}}}
    }
    # The demo uses the configured database, where the other commands look for it.
    assert db_file(workdir).exists()
    assert not (workdir / "var").exists()


def test_serve_creates_a_fresh_sqlite_database(workdir: Path, servers: list[Server]) -> None:
    port = free_port()
    assert not db_file(workdir).exists()
    server = Server(workdir, ["serve", "--port", str(port)], sqlite_env(workdir))
    servers.append(server)

    health = server.wait_healthy(f"http://127.0.0.1:{port}")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert db_file(workdir).exists()
    assert count(workdir, "signing_keys") == 1
    jwks = httpx.get(f"http://127.0.0.1:{port}/.well-known/jwks.json", timeout=5).json()
    assert len(jwks["keys"]) == 1
