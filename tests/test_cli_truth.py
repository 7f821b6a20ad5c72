"""The command line tells the truth: its version, its help, the database it works on, and
a one-line refusal, with nothing created, when that database is missing or not migrated.

Run as real processes in an empty directory, the way an operator meets them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from gateway.cli import build_parser
from store.migrate import alembic_config, upgrade
from tests.test_cli import (
    Server,
    cli_env,
    count,
    db_file,
    free_port,
    run,
    sqlite_env,
)

# These tests start the hub as a process (the demo takes its time): their own waits bound them.
pytestmark = pytest.mark.timeout(300)

# Commands that need a database that exists and is migrated (PATH arguments relative).
NEEDS_A_DATABASE = [
    ["audit", "verify"],
    ["keys", "rotate"],
    ["keys", "rotate-data"],
    ["backup", "snapshot.db"],
    ["audit", "checkpoint"],
    ["registration-token", "org-1"],
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The operator's current directory, empty."""
    return tmp_path


def files(workdir: Path) -> set[str]:
    return {str(p.relative_to(workdir)) for p in workdir.rglob("*")}


def refusal(result: object) -> str:
    """The one line a refused command prints after naming its database."""
    assert hasattr(result, "stderr") and hasattr(result, "returncode")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 2, f"expected the database line and one reason, got:\n{result.stderr}"
    assert lines[0].startswith("referral-hub: database "), lines
    assert "Traceback" not in result.stderr
    return lines[1]


def test_version_is_the_installed_package_version(workdir: Path) -> None:
    result = run(workdir, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"referral-hub {version('referral-hub')}"


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"{parser.prog} {name} has no help"
                found.extend(_parsers(sub))
    return found


def test_every_command_and_option_has_help() -> None:
    parsers = _parsers(build_parser())
    assert len(parsers) == 16  # root, 10 commands, 5 sub-commands
    for prog, parser in parsers:
        assert parser.description, f"{prog} has no description"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{prog} {action.option_strings or action.dest} has no help"


def test_help_describes_the_commands(workdir: Path) -> None:
    result = run(workdir, "--help")
    assert result.returncode == 0
    for command in (
        "serve",
        "db",
        "init",
        "registration-token",
        "staff-invite",
        "demo",
        "keys",
        "audit",
        "backup",
        "restore",
    ):
        assert command in result.stdout
    assert "--version" in result.stdout
    demo = run(workdir, "demo", "--help")
    assert "one JSON document on stdout" in demo.stdout
    assert files(workdir) == set()


@pytest.mark.parametrize("command", NEEDS_A_DATABASE, ids=" ".join)
def test_a_missing_database_is_refused_in_one_line(workdir: Path, command: list[str]) -> None:
    result = run(workdir, *command)
    reason = refusal(result)
    assert f"no database at {db_file(workdir)}" in reason
    assert "referral-hub db upgrade" in reason
    assert result.stdout == ""
    assert files(workdir) == set(), "a refused command creates nothing"


@pytest.mark.parametrize("command", NEEDS_A_DATABASE, ids=" ".join)
def test_the_default_database_is_named_when_it_is_missing(
    workdir: Path, command: list[str]
) -> None:
    result = run(workdir, *command, env=cli_env())
    assert "sqlite+aiosqlite:///./var/referral-hub.db" in result.stderr.splitlines()[0]
    assert "no database at var/referral-hub.db" in refusal(result)
    assert files(workdir) == set()


@pytest.mark.parametrize("command", NEEDS_A_DATABASE, ids=" ".join)
def test_a_database_without_migrations_is_refused(workdir: Path, command: list[str]) -> None:
    with sqlite3.connect(db_file(workdir)) as conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    conn.close()
    before = db_file(workdir).read_bytes()
    result = run(workdir, *command)
    assert "is not migrated: run `referral-hub db upgrade` first" in refusal(result)
    assert db_file(workdir).read_bytes() == before
    assert files(workdir) == {"hub.db"}


@pytest.mark.parametrize("command", NEEDS_A_DATABASE, ids=" ".join)
def test_a_database_behind_the_code_is_refused(workdir: Path, command: list[str]) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    newest = script.get_current_head()
    first = [r.revision for r in script.walk_revisions("base", "heads")][-1]
    assert first != newest
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{db_file(workdir)}", first))
    result = run(workdir, *command)
    reason = refusal(result)
    assert f"is at migration {first}, this code needs {newest}" in reason
    assert not (workdir / "snapshot.db").exists()


def test_a_file_that_is_not_a_database_is_refused(workdir: Path) -> None:
    db_file(workdir).write_text("not a database\n")
    result = run(workdir, "audit", "verify")
    assert "cannot open the database" in refusal(result)
    assert db_file(workdir).read_text() == "not a database\n"


def test_a_missing_postgresql_database_is_refused_without_its_password(workdir: Path) -> None:
    url = "postgresql+asyncpg://hub:s3cret-pw@127.0.0.1:1/absent"
    result = run(workdir, "audit", "verify", env=cli_env(HUB_DATABASE_URL=url))
    reason = refusal(result)
    assert "cannot open the database postgresql+asyncpg://hub:***@127.0.0.1:1/absent" in reason
    assert "s3cret-pw" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["init"], ["keys", "rotate"], ["audit", "verify"]],
    ids=" ".join,
)
def test_every_command_names_its_database_on_stderr(workdir: Path, command: list[str]) -> None:
    assert run(workdir, "db", "upgrade").returncode == 0
    result = run(workdir, *command)
    assert result.returncode == 0, result.stderr
    assert f"referral-hub: database sqlite+aiosqlite:///{db_file(workdir)}" in result.stderr
    assert "referral-hub: database" not in result.stdout


# --- the demo -------------------------------------------------------------------------------


def test_demo_json_is_one_document_and_every_log_goes_to_stderr(workdir: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = Server(workdir, ["demo", "--port", str(port), "--json"], cli_env())
    try:
        demo = server.read_json()
        assert server.wait_healthy(base_url).status_code == 200
        shelter = next(m for m in demo["members"] if m["key"] == "ccpcr-shelter")
        token = httpx.post(
            demo["token_url"],
            auth=(shelter["client_id"], shelter["client_secret"]),
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        assert token.status_code == 200
    finally:
        server.stop()
    stdout_rest = []
    while not server.lines.empty():
        line = server.lines.get()
        if line is not None:
            stdout_rest.append(line)
    assert "".join(stdout_rest).strip() == "", "nothing but the JSON document on stdout"
    log = (workdir / "server.log").read_text()
    assert "POST /oauth/token" in log, "uvicorn's access log goes to stderr"
    assert "referral-hub: database sqlite+aiosqlite:///./var/referral-hub.db" in log


def test_after_the_demo_the_other_commands_find_its_database(workdir: Path) -> None:
    port = free_port()
    server = Server(workdir, ["demo", "--port", str(port), "--json"], cli_env())
    try:
        server.read_json()
        server.wait_healthy(f"http://127.0.0.1:{port}")
        verified = run(workdir, "audit", "verify", env=cli_env())
    finally:
        server.stop()
    assert verified.returncode == 0, verified.stderr
    assert "disclosure log intact" in verified.stdout
    assert "./var/referral-hub.db" in verified.stderr
    assert count_orgs(workdir / "var" / "referral-hub.db") == 11


def count_orgs(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        value: int = conn.execute("SELECT COUNT(*) FROM organizations").fetchone()[0]
    conn.close()
    return value


def test_a_second_demo_in_the_same_directory_refuses_and_the_first_keeps_serving(
    workdir: Path,
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    first = Server(workdir, ["demo", "--port", str(port), "--json"], cli_env())
    try:
        demo = first.read_json()
        first.wait_healthy(base_url)
        database = workdir / "var" / "referral-hub.db"
        inode = database.stat().st_ino

        second = run(workdir, "demo", "--port", str(free_port()), "--json", env=cli_env())
        assert "is in use by a running hub" in refusal(second)
        assert second.stdout == ""

        assert database.stat().st_ino == inode, "the running demo's database is untouched"
        assert count_orgs(database) == 11
        member = demo["members"][0]
        token = httpx.post(
            demo["token_url"],
            auth=(member["client_id"], member["client_secret"]),
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        assert token.status_code == 200, token.text
    finally:
        first.stop()


def test_the_demo_never_replaces_a_database_that_is_not_a_demo(workdir: Path) -> None:
    created = run(workdir, "init", "--json")
    assert created.returncode == 0, created.stderr
    organization = json.loads(created.stdout)["organization_id"]
    result = run(workdir, "demo", "--port", str(free_port()))
    assert "not a demo network" in refusal(result)
    assert count(workdir, "organizations") == 1
    with sqlite3.connect(db_file(workdir)) as conn:
        assert conn.execute("SELECT id FROM organizations").fetchone()[0] == organization
    conn.close()


def test_the_demo_runs_on_sqlite_only(workdir: Path) -> None:
    url = "postgresql+asyncpg://hub:pw@127.0.0.1:1/hub"
    result = run(workdir, "demo", "--port", str(free_port()), env=cli_env(HUB_DATABASE_URL=url))
    assert "the demo runs on a SQLite file" in refusal(result)
    assert files(workdir) == set()


def test_restore_is_refused_while_a_hub_serves_the_database(workdir: Path) -> None:
    port = free_port()
    server = Server(workdir, ["serve", "--port", str(port)], sqlite_env(workdir))
    try:
        server.wait_healthy(f"http://127.0.0.1:{port}")
        backup = run(workdir, "backup", "snapshot.db")
        assert backup.returncode == 0, backup.stderr
        before = db_file(workdir).stat().st_ino
        result = run(workdir, "restore", "snapshot.db")
        assert "is in use by a running hub" in refusal(result)
        assert db_file(workdir).stat().st_ino == before
    finally:
        server.stop()


def test_a_new_demo_after_the_last_one_stopped_starts_afresh(workdir: Path) -> None:
    secrets = []
    for _ in range(2):
        port = free_port()
        server = Server(workdir, ["demo", "--port", str(port), "--json"], cli_env())
        try:
            demo = server.read_json()
            server.wait_healthy(f"http://127.0.0.1:{port}")
        finally:
            server.stop()
        secrets.append({m["key"]: m["client_secret"] for m in demo["members"]})
        assert count_orgs(workdir / "var" / "referral-hub.db") == 11
    assert secrets[0]["adhoc"] != secrets[1]["adhoc"], "a fresh network, fresh credentials"
