"""One trip to aiosqlite's thread per SQLite statement instead of three or four.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches (when there are rows) and
closes the cursor as separate calls, each queued to aiosqlite's worker thread and awaited
back on the event loop. Every such hop costs a thread wake-up and a GIL hand-over, which on
a busy machine is milliseconds, not microseconds: a ``sendReferral`` was 33 of them. This
cursor runs the whole statement (cursor, execute, fetch, close) as one function on that
same thread, in the same order and with the same connection, so results, errors and
transaction state are exactly the driver's; only the number of hand-overs changes.

Installed on the hub's own SQLite connections as they connect (store/engine.py).
Server-side cursors (``stream_results``) keep SQLAlchemy's own class.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT, await_

from store.uninterrupted import uninterrupted

T = TypeVar("T")
Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> Outcome:
    """On aiosqlite's thread: the statement from cursor to close; what it left behind."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one call on the driver's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        # No driver cursor is opened here (that was a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # rows are fetched whole on the driver's thread

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._finish(self._trip(_run, False, operation, parameters))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._finish(self._trip(_run, True, operation, seq_of_parameters))

    def _trip(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        try:
            outcome: Outcome = await_(self._on_thread(fn, *args))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        return outcome

    async def _on_thread(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        async with self._adapt_connection._execute_mutex:
            driver = self._connection
            result: Outcome = await uninterrupted(driver._execute(fn, driver._conn, *args))
            return result

    def _finish(self, outcome: Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = deque(rows)

    async def _async_soft_close(self) -> None:
        return None  # nothing open on the driver's side

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's adapted aiosqlite connection, with ``OneTripCursor`` as its cursor."""

    __slots__ = ()
    _cursor_cls = OneTripCursor


def install(dbapi_connection: Any) -> None:
    """Give a freshly connected adapted connection the one-trip cursor."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
