"""The operator's console invitations: `staff-invite`, and the sign-ins the demo prints."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.test_cli import (
    Server,
    db_file,
    free_port,
    run,
    servers,
    sqlite_env,
    workdir,
)

# These tests start the hub as a process (the demo takes its time): their own waits bound them.
pytestmark = pytest.mark.timeout(300)

__all__ = ["servers", "workdir"]  # fixtures shared with tests/test_cli.py


def test_the_operator_invites_the_first_admin_of_a_member(workdir: Path) -> None:
    created = json.loads(run(workdir, "init", "--json").stdout)
    org = created["organization_id"]
    issued = run(workdir, "staff-invite", org, "--role", "COORDINATOR", "--email", "a@x.example")
    assert issued.returncode == 0, issued.stderr
    invite = json.loads(issued.stdout)
    assert invite["invite_url"].startswith("http://127.0.0.1:8000/console/invite/")
    token = invite["invite_url"].rsplit("/", 1)[1]
    with sqlite3.connect(db_file(workdir)) as conn:
        (stored,) = conn.execute("SELECT token_hash FROM staff_invites").fetchone()
    assert stored and token not in stored
    # A coordinator role outside the secretariat, or an unknown organisation: refused.
    refused = run(workdir, "staff-invite", "nope", "--role", "ORG_ADMIN", "--email", "b@x.example")
    assert refused.returncode == 1 and refused.stdout == ""


def test_the_demo_prints_staff_sign_ins_that_open(workdir: Path, servers: list[Server]) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = Server(workdir, ["demo", "--port", str(port), "--json"], sqlite_env(workdir))
    servers.append(server)
    demo = server.read_json()
    sign_ins = {s["member"]: s for s in demo["staff_sign_ins"]}
    assert {"secretariat", "adhoc", "ccpcr-koh-kong", "embassy-bangkok"} <= set(sign_ins)
    assert sign_ins["secretariat"]["role"] == "COORDINATOR"
    assert server.wait_healthy(base_url).status_code == 200
    page = httpx.get(sign_ins["adhoc"]["invite_url"], timeout=10)
    assert page.status_code == 200, server.log()
    assert sign_ins["adhoc"]["email"] in page.text and 'id="totp-secret"' in page.text
