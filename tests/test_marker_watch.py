"""The survivor-marker watch itself: it must find what it is there to find.

The run-wide check (tests/marker_watch.py) fails the run when a planted survivor marker
shows in plain text in a log record, a database or a file the tests left. Here each of
those paths is shown to fail on a leak, with a marker of its own where the leak would
otherwise trip this very run.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from store.engine import Database
from tests.marker_watch import (
    _CHUNK,
    MARKER,
    LeakFound,
    planted,
    scan_database,
    scan_file,
    scan_tree,
    session_log_handler,
)
from tests.network import POSTGRES_URL, Template

ROOT = Path(__file__).resolve().parent.parent
# Built at run time so that no file of the suite holds it literally.
SELF_TEST = "CHECKER" + "-SELFTEST-" + "MARK"


def test_a_marker_cut_by_the_read_buffer_is_still_found(tmp_path: Path) -> None:
    needle = SELF_TEST.encode()
    path = tmp_path / "blob"
    # one marker straddling the first chunk border, one whole in the second chunk
    path.write_bytes(b"x" * (_CHUNK - 5) + needle + b"y" * 100 + needle + b"z")
    found = scan_file(path, SELF_TEST)
    assert found is not None and found.count == 2
    assert scan_file(tmp_path / "absent", SELF_TEST) is None
    (tmp_path / "clean").write_bytes(b"x" * (_CHUNK + 10))
    assert scan_file(tmp_path / "clean", SELF_TEST) is None
    assert [f.where for f in scan_tree(tmp_path, SELF_TEST)] == [str(path)]


async def test_a_marker_in_any_table_of_a_database_is_found(
    template: Template,
) -> None:
    url = await template.copy()
    try:
        await plant_directly(url, planted("Coordinator", SELF_TEST))
        finds = await scan_database(url, SELF_TEST)
        assert finds, "a plain-text marker in the database was not found"
        assert all(f.count >= 1 for f in finds)
        if POSTGRES_URL is not None:
            assert [f.where.rsplit(".", 1)[1] for f in finds] == ["organizations"]
        assert await scan_database(url, "NEVER-PLANTED-" + uuid.uuid4().hex) == []
    finally:
        await template._drop(url)


async def plant_directly(url: str, value: str) -> None:
    """Write a value in plain text past the hub (and past any driver's debug log)."""
    if POSTGRES_URL is None:
        database = make_url(url).database
        assert database is not None
        with closing(sqlite3.connect(database)) as conn, conn:
            conn.execute("UPDATE organizations SET name = ? WHERE kind = 'COORDINATOR'", (value,))
        return
    db = Database(url)
    try:
        async with db.write() as session:
            await session.execute(
                text("UPDATE organizations SET name = :n WHERE kind = 'COORDINATOR'"),
                {"n": value},
            )
    finally:
        await db.dispose()


async def test_the_harness_refuses_a_test_database_holding_survivor_data(
    template: Template,
) -> None:
    url = await template.copy()
    await plant_directly(url, planted("leaked in plain text"))

    with pytest.raises(LeakFound, match="survivor marker 'SURVIVOR-MARKER' found in"):
        await template.drop(url)
    # and the database is gone all the same, so the run's own check is not tripped by it
    if POSTGRES_URL is None:
        assert not Path(str(make_url(url).database)).exists()


def test_every_logger_is_captured_at_debug_for_the_whole_run(
    pytestconfig: pytest.Config,
) -> None:
    handler = session_log_handler(pytestconfig)
    assert isinstance(handler, logging.FileHandler)
    assert handler in logging.getLogger().handlers
    assert handler.level == logging.DEBUG
    assert logging.getLogger().level == logging.DEBUG
    token = uuid.uuid4().hex
    logging.getLogger("gateway.app").debug("watch check %s", token)
    handler.flush()
    assert token in Path(handler.baseFilename).read_text()


@pytest.fixture
def child_run() -> Iterator[Path]:
    """A directory for a child pytest run, outside this run's temporary tree."""
    where = Path(tempfile.mkdtemp(prefix="marker-watch-"))
    yield where
    shutil.rmtree(where, ignore_errors=True)


LEAKY = """
import logging
from pathlib import Path

MARK = "SURVIVOR" + "-" + "MARKER"


def test_logs_a_survivor_name() -> None:
    logging.getLogger("gateway.graphql_view").debug("query for %s", MARK + " Sok Dara")


def test_clean(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("nothing here")
"""

LEAVES_A_FILE = """
from pathlib import Path

MARK = "SURVIVOR" + "-" + "MARKER"


def test_leaves_a_database_file(tmp_path: Path) -> None:
    (tmp_path / "left.db").write_bytes(b"SQLite format 3" + (MARK + " Sok Dara").encode())
"""

CLEAN = """
import logging


def test_logs_nothing_secret() -> None:
    logging.getLogger("gateway.app").debug("a request id and an operation name")
"""


def run_child(where: Path, source: str, *extra: str) -> subprocess.CompletedProcess[str]:
    (where / "test_child.py").write_text(source)
    env = dict(os.environ)
    env["HUB_TEST_LOG"] = str(where / "run.log")  # kept inside ``where``, removed with it
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.marker_watch",
            "-p",
            "no:cacheprovider",
            f"--basetemp={where / 'tmp'}",
            f"--rootdir={where}",
            "-c",
            os.devnull,
            *extra,
            str(where / "test_child.py"),
        ],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.parametrize("workers", [(), ("-p", "xdist", "-n", "2")], ids=["one process", "xdist"])
@pytest.mark.parametrize(
    ("source", "where"), [(LEAKY, ".log"), (LEAVES_A_FILE, "left.db")], ids=["log", "file"]
)
def test_a_run_that_leaks_a_marker_fails_even_when_its_tests_pass(
    child_run: Path, source: str, where: str, workers: tuple[str, ...]
) -> None:
    result = run_child(child_run, source, *workers)
    assert "passed" in result.stdout and "failed" not in result.stdout, result.stdout
    assert result.returncode == 1, result.stdout + result.stderr
    assert "survivor data leaked" in result.stdout
    leak_lines = [line for line in result.stdout.splitlines() if MARKER in line]
    assert leak_lines and all(where in line for line in leak_lines if "found" in line)
    assert "Sok Dara" not in result.stdout  # the report names places, never the data


def test_a_clean_run_passes(child_run: Path) -> None:
    result = run_child(child_run, CLEAN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "survivor data leaked" not in result.stdout
