"""The README's code blocks, found and run as a newcomer would run them.

Every fenced block in README.md is preceded by a marker comment saying what checks it:

- ``<!-- ci: demo -->``: the install-and-demo command, run verbatim on a fresh clone by
  ``.ci/first-hour.py``;
- ``<!-- ci: tests -->``: the test command, run verbatim by ``.ci/run``;
- ``<!-- run -->``: run in order against a running demo hub (``sh`` with bash, ``python``
  with the hub's interpreter), by tests/test_readme.py and by ``.ci/first-hour.py``;
- ``<!-- illustration -->``: shown, not run (reference snippets with placeholders).

Standard library only: ``.ci/first-hour.py`` uses this module from a bare install.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARKERS = ("ci: demo", "ci: tests", "run", "illustration")
README_URL = "http://127.0.0.1:8000"
_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*(.+?)\s*-->\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    line: int  # 1-based line of the opening fence
    marker: str | None
    language: str
    code: str


def blocks(readme: str) -> list[Block]:
    """Every fenced block, with the marker comment on the line before it (if any)."""
    lines = readme.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        marker_line = _MARKER.match(lines[i - 1]) if i > 0 else None
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"README.md:{i + 1}: code block never closed")
        found.append(
            Block(
                line=i + 1,
                marker=marker_line.group(1) if marker_line else None,
                language=opening.group(1),
                code="\n".join(lines[i + 1 : end]) + "\n",
            )
        )
        i = end + 1
    return found


def unmarked(readme: str) -> list[Block]:
    """Blocks that say neither how they are checked nor that they are illustrations."""
    return [b for b in blocks(readme) if b.marker not in MARKERS]


def the_block(readme: str, marker: str) -> Block:
    """The one block with ``marker``."""
    found = [b for b in blocks(readme) if b.marker == marker]
    if len(found) != 1:
        raise ValueError(f"README.md has {len(found)} blocks marked {marker!r}, expected one")
    return found[0]


@dataclass(frozen=True, slots=True)
class Ran:
    block: Block
    stdout: str


def run_first_hour(
    readme: str, base_url: str, client_id: str, client_secret: str, python: str, cwd: Path
) -> list[Ran]:
    """Run every ``run`` block in order against the hub at ``base_url``.

    The shell blocks run in one bash session, as typed into one terminal (a variable set in
    one is seen by the next), each one's output kept apart; python blocks run as scripts with
    ``python``. The README's address is replaced by ``base_url``, nothing else is changed.
    Raises ``subprocess.CalledProcessError`` when a block fails.
    """
    env = dict(os.environ, CLIENT_ID=client_id, CLIENT_SECRET=client_secret)
    # The blocks must work without the developer's PATH tricks: the hub's python first.
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"
    ran: list[Ran] = []
    shell_so_far = "set -euo pipefail\n"
    for block in blocks(readme):
        if block.marker != "run":
            continue
        code = block.code.replace(README_URL, base_url)
        if block.language == "sh":
            # Replaying the earlier shell blocks keeps their variables; only the new output
            # is this block's.
            separator = f"echo '--- README.md:{block.line} ---'\n"
            shell_so_far += separator + code
            done = subprocess.run(
                ["bash", "-c", shell_so_far],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            output = done.stdout.split(separator.split("'")[1])[-1].lstrip("\n")
            ran.append(Ran(block, output))
        elif block.language == "python":
            with tempfile.NamedTemporaryFile("w", suffix=".py", dir=cwd, delete=False) as script:
                script.write(code)
            try:
                done = subprocess.run(
                    [python, script.name],
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=True,
                )
            finally:
                Path(script.name).unlink()
            ran.append(Ran(block, done.stdout))
        else:
            raise ValueError(f"README.md:{block.line}: cannot run a {block.language!r} block")
    return ran
