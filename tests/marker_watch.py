"""No survivor marker anywhere: the whole test run is watched for planted survivor data.

Survivor data in the tests' fixtures carries ``MARKER`` (see ``planted``). Two places must
never hold it in plain text, however a test ends:

- **the database**: every SQLite file (with its WAL) is read byte by byte before the harness
  drops it, PostgreSQL test databases are dumped row by row first (``scan_database``), and
  at the end of the run every file the tests left under pytest's temporary directory is read
  too (CLI workdirs, templates);
- **the logs**: every record of every logger, at DEBUG, goes to one file per run
  (``HUB_TEST_LOG`` names it, or a temporary file), read at the end of the run.

A find fails the run (exit status 1) and names where, never the surrounding text.
This module is a pytest plugin: ``tests/conftest.py`` imports its hooks.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

MARKER = "SURVIVOR-MARKER"
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CHUNK = 1 << 20


def planted(value: str, marker: str = MARKER) -> str:
    """A survivor's words as the tests write them: recognisable wherever they end up."""
    return f"{marker} {value}"


@dataclass(frozen=True, slots=True)
class Find:
    where: str
    count: int

    def __str__(self) -> str:
        return f"{self.where}: {self.count} occurrence(s)"


def scan_file(path: Path, marker: str = MARKER) -> Find | None:
    """Count the marker's plain-text occurrences in a file (read in chunks, overlap kept)."""
    needle = marker.encode()
    count = 0
    tail = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                block = tail + chunk
                count += block.count(needle)
                # keep what could start a match cut by the chunk border (never a whole one)
                tail = block[-(len(needle) - 1) :] if len(needle) > 1 else b""
    except FileNotFoundError:
        return None
    return Find(str(path), count) if count else None


def scan_files(paths: Iterable[Path], marker: str = MARKER) -> list[Find]:
    return [found for path in paths if (found := scan_file(path, marker)) is not None]


def scan_tree(root: Path, marker: str = MARKER, skip: Iterable[Path] = ()) -> list[Find]:
    """Every regular file under ``root`` (what the tests left behind)."""
    skipped = {p.resolve() for p in skip}
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()]
    return scan_files((p for p in files if p.resolve() not in skipped), marker)


async def scan_database(url: str, marker: str = MARKER) -> list[Find]:
    """A row-by-row dump of every table of a database, searched for the marker.

    SQLite files are read as bytes instead (free pages and the WAL included).
    """
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        assert database is not None
        return scan_files([Path(database), Path(f"{database}-wal")], marker)
    engine = create_async_engine(url, poolclass=NullPool)
    finds: list[Find] = []
    try:
        async with engine.connect() as conn:
            tables = (
                await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "ORDER BY tablename"
                    )
                )
            ).scalars()
            for table in list(tables):
                count = await conn.scalar(
                    text(
                        f'SELECT COUNT(*) FROM "{table}" AS t '
                        "WHERE strpos(CAST(t AS text), :marker) > 0"
                    ),
                    {"marker": marker},
                )
                if count:
                    finds.append(Find(f"{url.rsplit('/', 1)[-1]}.{table}", int(count)))
    finally:
        await engine.dispose()
    return finds


class LeakFound(AssertionError):
    """Survivor data in plain text where it must never be."""


def refuse(finds: list[Find], what: str) -> None:
    if finds:
        raise LeakFound(
            f"survivor marker {MARKER!r} found in {what}: " + "; ".join(map(str, finds))
        )


# --- the run-wide part: a pytest plugin ---------------------------------------------------

_LOG_KEY = pytest.StashKey[Path]()
_HANDLER_KEY = pytest.StashKey[logging.Handler]()
# Under pytest-xdist each worker scans its own log and temp files; what it finds travels to
# the controller in ``workeroutput``, and the controller fails the run.
_WORKER_FINDS = "survivor_marker_finds"
_REPORTED_KEY = pytest.StashKey[list[str]]()


def session_log_handler(config: pytest.Config) -> logging.Handler:
    return config.stash[_HANDLER_KEY]


def pytest_configure(config: pytest.Config) -> None:
    named = os.environ.get("HUB_TEST_LOG")
    worker = getattr(config, "workerinput", {}).get("workerid")
    if named:
        path = Path(named)
        if worker:  # one file per xdist worker, beside the named one
            path = path.with_name(f"{path.stem}-{worker}{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        handle, raw = tempfile.mkstemp(prefix="hub-test-log-", suffix=".log")
        os.close(handle)
        path = Path(raw)
    path.write_bytes(b"")
    # Append mode: uvicorn's dictConfig closes every handler, and only an append-mode
    # FileHandler reopens its file on the next record.
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    config.stash[_LOG_KEY] = path
    config.stash[_HANDLER_KEY] = handler


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    handler = config.stash.get(_HANDLER_KEY, None)
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    log_path = config.stash[_LOG_KEY]
    finds = scan_files([log_path])
    factory = getattr(config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None) if factory is not None else None
    if basetemp is not None:
        finds += scan_tree(Path(basetemp), skip=[log_path])
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    workeroutput = getattr(config, "workeroutput", None)
    if finds and workeroutput is not None:
        workeroutput[_WORKER_FINDS] = [str(find) for find in finds] + [f"the log: {log_path}"]
    reported = config.stash.get(_REPORTED_KEY, [])
    if finds or reported:
        message = f"survivor marker {MARKER!r} found in plain text: " + "; ".join(
            [*map(str, finds), *reported]
        )
        if reporter is not None:
            reporter.write_sep("=", "survivor data leaked", red=True)
            reporter.write_line(message)
            reporter.write_line(f"the run's log: {log_path}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif not os.environ.get("HUB_TEST_LOG"):
        log_path.unlink(missing_ok=True)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: keep what a worker found, to fail the run at its end."""
    found = getattr(node, "workeroutput", {}).get(_WORKER_FINDS)
    if found:
        config = node.config
        config.stash[_REPORTED_KEY] = [*config.stash.get(_REPORTED_KEY, []), *found]
