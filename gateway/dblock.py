"""An OS lock beside a SQLite database, held by the processes that serve or replace it.

``serve`` holds it shared; ``demo`` (which deletes and re-creates its database) and
``restore`` (which replaces it) hold it exclusively, so neither can pull a database out
from under a running hub. The kernel drops the lock when the process ends, however it ends,
so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.dbstate import sqlite_path


class DatabaseInUse(Exception):
    """Another hub process holds the database."""


@contextmanager
def holding(url: str, *, exclusive: bool) -> Iterator[None]:
    """Hold the database's lock for the block; other databases than SQLite need none."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseInUse(
            f"{path} is in use by a running hub (demo or serve): stop that one first"
        ) from None
    try:
        yield
    finally:
        os.close(fd)
