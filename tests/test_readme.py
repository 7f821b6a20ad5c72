"""The README is a newcomer's first hour: every block it shows either runs, here against a
real demo hub, or says it is an illustration; every link in it leads to a file in the
repository."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.readme_blocks import blocks, run_first_hour, the_block, unmarked
from tests.test_cli import Server, cli_env, free_port

# These tests start the hub as a process (the demo takes its time): their own waits bound them.
pytestmark = pytest.mark.timeout(300)


ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_every_code_block_is_run_or_marked_as_an_illustration() -> None:
    assert [b.line for b in unmarked(README)] == []
    markers = [b.marker for b in blocks(README)]
    assert markers.count("run") >= 4, "token, first query, a referral, authlib"
    assert markers[:2] == ["ci: demo", "ci: tests"], "the two commands come first"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    command = the_block(README, "ci: tests").code.strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_ci_runs_the_first_hour_from_the_readme() -> None:
    stage = (ROOT / ".ci" / "first-hour.py").read_text()
    assert 'the_block(readme, "ci: demo")' in stage
    assert "run_first_hour(" in stage
    assert "first-hour.py" in (ROOT / ".ci" / "run").read_text()


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_relative_link_resolves_inside_the_repository() -> None:
    anchors = {_slug(line.lstrip("#")) for line in README.splitlines() if line.startswith("#")}
    links = LINK.findall(README)
    assert links, "the link pattern finds the README's links"
    checked = 0
    for target in links:
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        if not path:
            assert anchor in anchors, f"README.md links to a missing heading #{anchor}"
        else:
            resolved = (ROOT / path).resolve()
            assert resolved.is_relative_to(ROOT), f"{target} leaves the repository"
            assert resolved.exists(), f"README.md links to {target}, which does not exist"
        checked += 1
    assert checked >= 3
    assert "../" not in README


def test_the_first_hour_runs_against_a_demo_hub(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = Server(tmp_path, ["demo", "--port", str(port), "--json"], cli_env())
    try:
        demo = server.read_json()
        server.wait_healthy(base_url)
        shelter = next(m for m in demo["members"] if m["key"] == "ccpcr-shelter")
        ran = run_first_hour(
            README,
            base_url,
            shelter["client_id"],
            shelter["client_secret"],
            sys.executable,
            tmp_path,
        )
    finally:
        server.stop()
    outputs = [r.stdout for r in ran]
    assert len(outputs) == 4
    token_output, query_output, referral_output, authlib_output = outputs
    assert token_output.strip() == ""
    answer = json.loads(query_output)
    assert "errors" not in answer
    assert answer["data"]["viewer"]["organization"]["name"] == "CCPCR Shelter Phnom Penh"
    assert {e["country"] for e in answer["data"]["organizations"]} == {"TH", "MY", "CN"}
    assert re.fullmatch(
        r"case RH-\w{4}-\w{4}: referral SENT to ADHOC Legal Aid, to be acknowledged by \S+\n",
        referral_output,
    ), referral_output
    assert authlib_output == "scope orgs:read, valid 900 s\n"
