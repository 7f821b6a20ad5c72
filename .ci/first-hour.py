#!/usr/bin/env python3
"""CI's first stage: the README's first hour on a fresh clone with nothing but
``pip install -e .`` (no test extras), so a missing runtime dependency or a broken README
fails CI before any test runs.

1. ``git clone`` the repository into a temporary directory;
2. run the README's demo command there, verbatim, with ``--json --port N`` appended, in the
   background;
3. read the credentials it prints (stdout must be exactly one JSON document);
4. take a token from the token endpoint and run one GraphQL query (standard library only);
5. run every ``<!-- run -->`` block of the README with the clone's bare interpreter;
6. stop the demo.

Standard library only: it runs before anything is installed.
"""

# It runs git, bash and the clone's own commands, and opens loopback URLs it chose itself.
# ruff: noqa: S310, S603, S607

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # the first pip install may take a while


def say(message: str) -> None:
    print(f"first-hour: {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def post(url: str, data: bytes, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wait_for_json(demo: subprocess.Popen[str]) -> dict[str, Any]:
    """The demo's stdout up to its one JSON document (it then serves until stopped)."""
    assert demo.stdout is not None
    text = ""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        if not line:
            raise SystemExit(f"first-hour: the demo ended early (exit {demo.wait()})")
        text += line
        try:
            parsed: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError:
            continue
        return parsed
    raise SystemExit("first-hour: the demo printed no JSON")


def wait_healthy(base_url: str, demo: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise SystemExit(f"first-hour: the demo ended (exit {demo.returncode})")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit("first-hour: the demo does not answer /healthz")


def stop(demo: subprocess.Popen[str]) -> None:
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=20)


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="first-hour-"))
    clone = workdir / "referral-hub"
    demo: subprocess.Popen[str] | None = None
    try:
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        say(f"cloned into {clone}")
        sys.path.insert(0, str(clone))
        from tests.readme_blocks import run_first_hour, the_block

        readme = (clone / "README.md").read_text()
        command = the_block(readme, "ci: demo").code.strip()
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        # A newcomer's shell: none of the hub's settings (pip's own configuration stays).
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        say(f"running the README's command: {command} --json --port {port}")
        demo = subprocess.Popen(
            ["bash", "-c", f"{command} --json --port {port}"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # the whole group is stopped at the end
        )
        credentials = wait_for_json(demo)
        wait_healthy(base_url, demo)
        members = {m["key"]: m for m in credentials["members"]}
        shelter = members["ccpcr-shelter"]
        say(f"demo serves {len(members)} members at {credentials['graphql_url']}")

        basic = base64.b64encode(
            f"{shelter['client_id']}:{shelter['client_secret']}".encode()
        ).decode()
        token = post(
            credentials["token_url"],
            urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
            {"Authorization": f"Basic {basic}"},
        )["access_token"]
        answer = post(
            credentials["graphql_url"],
            json.dumps({"query": "{ viewer { organization { name } } }"}).encode(),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        if answer != {"data": {"viewer": {"organization": {"name": shelter["name"]}}}}:
            raise SystemExit(f"first-hour: unexpected answer {answer}")
        say("a token and a query work")

        ran = run_first_hour(
            readme,
            base_url,
            shelter["client_id"],
            shelter["client_secret"],
            str(clone / ".venv" / "bin" / "python"),
            clone,
        )
        for block in ran:
            say(f"README.md:{block.block.line} ({block.block.language}) ran")
            if '"errors"' in block.stdout:
                raise SystemExit(f"first-hour: README.md:{block.block.line} got errors")
        say(f"the README's first hour works ({len(ran)} blocks)")
        return 0
    except subprocess.CalledProcessError as exc:
        print(exc.stdout or "", exc.stderr or "", sep="\n", file=sys.stderr)
        print(f"first-hour: failed: {exc.cmd!r} exited {exc.returncode}", file=sys.stderr)
        return 1
    finally:
        if demo is not None:
            stop(demo)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
