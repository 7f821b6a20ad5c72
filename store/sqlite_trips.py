"""One trip to aiosqlite's thread per SQLite statement instead of three or four.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches (when there are rows) and
closes the cursor as separate calls, each queued to aiosqlite's worker thread and awaited
back on the event loop. Every such hop costs a thread wake-up and a GIL hand-over, which on
a busy machine is milliseconds, not microseconds: a ``sendReferral`` was 33 of them. This
cursor runs the whole statement (cursor, execute, fetch, close) as one function on that
same thread, in the same order and with the same connection, so results, errors and
transaction state are exactly the driver's; only the number of hand-overs changes.

A transaction's ``BEGIN`` waits on the connection (``defer_begin``) and goes in the same trip
as the transaction's first statement: a query's read transaction is two trips instead of three
(BEGIN with its first statement, COMMIT). A transaction that ran no statement began nothing,
so its COMMIT or ROLLBACK takes no trip either. Before a server-side cursor opens, a waiting
BEGIN takes its own trip, as it did before.

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
_WAITING = "hub_waiting_begin"
Outcome = tuple[Any, list[Any], int, int | None]


def _run(
    connection: sqlite3.Connection,
    begin: str | None,
    many: bool,
    operation: str,
    parameters: Any,
) -> Outcome:
    """On aiosqlite's thread: the waiting BEGIN if any, then the statement from cursor to
    close; what it left behind."""
    if begin is not None:
        connection.execute(begin)
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
        begin = _take_begin(self._connection)
        self._finish(self._trip(_run, begin, False, operation, parameters))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        begin = _take_begin(self._connection)
        self._finish(self._trip(_run, begin, True, operation, seq_of_parameters))

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
    """SQLAlchemy's adapted aiosqlite connection, with ``OneTripCursor`` as its cursor and a
    transaction's BEGIN sent with its first statement."""

    __slots__ = ()
    _cursor_cls = OneTripCursor

    # The waiting BEGIN is kept on the aiosqlite connection: this adapter has slots only.
    def defer_begin(self, statement: str) -> None:
        """Begin a transaction with ``statement`` when its first statement runs."""
        if getattr(self._connection, _WAITING, None) is not None:
            raise RuntimeError("a transaction is already waiting to begin")
        setattr(self._connection, _WAITING, statement)

    def take_begin(self) -> str | None:
        """The waiting BEGIN, now handed to a statement's trip (or None)."""
        return _take_begin(self._connection)

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            self._begin_now()
        return super().cursor(server_side)

    def commit(self) -> None:
        if self.take_begin() is None:
            super().commit()

    def rollback(self) -> None:
        if self.take_begin() is None:
            super().rollback()

    def _begin_now(self) -> None:
        begin = self.take_begin()
        if begin is not None:
            try:
                await_(uninterrupted(self._connection.execute(begin)))
            except Exception as error:
                self._handle_exception(error)


def _take_begin(driver: Any) -> str | None:
    begin: str | None = getattr(driver, _WAITING, None)
    if begin is not None:
        setattr(driver, _WAITING, None)
    return begin


def install(dbapi_connection: Any) -> None:
    """Give a freshly connected adapted connection the one-trip cursor."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
