"""SQLite through aiosqlite with one trip to the driver's thread per statement, not four.

aiosqlite runs sqlite3 on a thread of its own per connection; every call crosses to that
thread and back (a queue put, a wake-up, a future resolved through the event loop's self-pipe).
SQLAlchemy's adapter makes four such calls for each statement: open a cursor, execute, fetch
all rows, close the cursor. Measured on the inbox (a request of three statements), those
crossings were the largest single cost of a request under load: on a busy core the woken
thread and the event loop hand the interpreter lock back and forth at each one.

``OneTripCursor`` does the same four steps in one function run on the driver's thread and
hands back the rows with the cursor's description, row count and last row id, which is all
SQLAlchemy reads from a cursor after executing. Statements, parameters, transactions and
errors are the driver's own: the same sqlite3 calls run in the same order on the same
thread, and an error is translated by SQLAlchemy's adapter exactly as before.
"""

from __future__ import annotations

import collections
import json
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
import orjson
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import immutabledict
from sqlalchemy.util.concurrency import await_

_LONG_DIGITS = re.compile(r"[0-9]{19}")
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the driver's thread: execute, fetch everything, close; what SQLAlchemy will ask."""
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
    """A cursor whose every statement is one call on the driver's thread."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No driver cursor is opened here (that was a trip of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = immutabledict()
        self._rows = collections.deque()
        self._outcome: _Outcome = (None, [], -1, None)

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[3]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        """Nothing to close: the driver's cursor closed on its thread after the statement."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._trip(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._trip(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _trip(self, operation: str, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]
                _run, connection._conn, operation, parameters, many
            )
        self._outcome = outcome
        self._rows = collections.deque(outcome[1])

    def nextset(self) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]


class OneTripDriver(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite adapter, handing out ``OneTripConnection``s."""

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        connection = super().connect(*arg, **kw)
        # Same slots, same state: only the cursor class differs.
        connection.__class__ = OneTripConnection
        return connection


def load_json(text: str | bytes) -> Any:
    """JSON columns read with orjson (several times faster than the standard library on the
    small lists a page reads hundreds of); the few texts orjson refuses and the standard
    library accepts (NaN, integers over 64 bits, lone surrogates) go to the standard library,
    so every stored value reads back as before. orjson turns an integer past 64 bits into a
    float instead of refusing it: a text with a run of 19 digits or more goes to the standard
    library too."""
    if _LONG_DIGITS.search(text if isinstance(text, str) else text.decode("utf-8", "replace")):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def one_trip_driver() -> OneTripDriver:
    """The DBAPI module to hand ``create_async_engine(module=...)`` for ``sqlite+aiosqlite``."""
    return OneTripDriver(aiosqlite, sqlite3)
