"""Fuzzing the hub from its own schema: operations, verdicts and the idle-lock probe.

Shared by the suite (a few hundred operations per run) and ``bench/fuzz.py`` (10,000).
Operations come from hypothesis-graphql, built on the schema the running hub serves by
introspection, valid ones and ones with one schema violation each. A response fails if it is
a 5xx, not JSON, an INTERNAL, an error without a code, or carries a stack trace or SQL; the
hub fails if, once it has answered, it still holds a write lock (or, on PostgreSQL, a
transaction left idle).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import graphql
import httpx
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.network import RunningHub

# Who fuzzes: the network's coordinator and a shelter that owns cases.
FUZZERS = ("secretariat", "ccpcr-koh-kong")
INTROSPECTION = graphql.get_introspection_query(descriptions=False)

# What a response must never show: a Python traceback, or SQL and database driver words.
LEAKS = re.compile(
    r"Traceback \(most recent|File \"/|sqlalchemy|sqlite3|asyncpg|aiosqlite|psycopg"
    r"|OperationalError|IntegrityError|ProgrammingError|\bSELECT\s.+\sFROM\b"
    r"|\bINSERT INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE FROM\b",
    re.IGNORECASE | re.DOTALL,
)


def verdict(response: httpx.Response) -> list[str]:
    """Why this response is a failure of the hub (empty: it is fine)."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"status {response.status_code}")
    if LEAKS.search(response.text):
        problems.append("stack trace or SQL in the response")
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media not in ("application/json", "application/graphql-response+json"):
        return [*problems, f"non-JSON response ({media or 'no content type'})"]
    try:
        document = response.json()
    except ValueError:
        return [*problems, "body is not JSON"]
    errors = document.get("errors") if isinstance(document, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if code is None:
            problems.append("an error without extensions.code")
        elif code == "INTERNAL":
            problems.append("INTERNAL")
    return problems


async def write_lock_free(hub: RunningHub) -> bool:
    """True when no one holds a write transaction on the idle hub's database.

    SQLite: a ``BEGIN IMMEDIATE`` on a separate connection gets the write lock within 1 s.
    PostgreSQL: no other session of the hub sits idle inside a transaction.
    """
    url = make_url(hub.settings.database_url)
    if url.get_backend_name() == "sqlite":
        path = url.database
        assert path is not None

        def probe() -> bool:
            connection = sqlite3.connect(path, timeout=1.0, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                return True
            except sqlite3.OperationalError:
                return False
            finally:
                connection.close()

        return await asyncio.to_thread(probe)
    for _ in range(10):  # a transaction may be closing right now: give it a second
        async with hub.db.read() as session:
            idle = (
                await session.execute(
                    text(
                        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar()
        if not idle:
            return True
        await asyncio.sleep(0.1)
    return False


def _string(values: st.SearchStrategy[Any]) -> st.SearchStrategy[graphql.ValueNode]:
    return values.map(nodes.String)


def _field(name: str, value: graphql.ValueNode) -> graphql.ObjectFieldNode:
    return graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)


# Custom scalars get values of the right shape and of every wrong one the issue met.
_DATETIMES = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # naive: refused
    st.text(max_size=30),
)
_REPRESENTATIONS = st.one_of(
    st.builds(
        lambda typename, key: nodes.Object(
            [_field("__typename", nodes.String(typename)), _field("id", key)]
        ),
        st.sampled_from(["Organization", "Query", "Case", ""]),
        st.one_of(_string(st.text(max_size=20)), st.integers(0, 10**6).map(nodes.Int)),
    ),
    st.just(nodes.Object([])),
    st.just(nodes.List([])),
    st.booleans().map(nodes.Boolean),
    st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    _string(st.text(max_size=10)),
)
CUSTOM_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "DateTime": _string(_DATETIMES),
    "Date": _string(st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=12))),
    "JSON": _string(st.text(max_size=30)),
    "_Any": _REPRESENTATIONS,
    "_FieldSet": _string(st.text(max_size=10)),
    "link__Import": _string(st.text(max_size=10)),
}


def operations(schema: graphql.GraphQLSchema) -> st.SearchStrategy[str]:
    """Queries and mutations, valid and with one violation each, as document strings."""
    kinds = []
    for mode in (Mode.POSITIVE, Mode.NEGATIVE):
        for build in (queries, mutations):
            kinds.append(build(schema, custom_scalars=CUSTOM_SCALARS, mode=mode))
    return st.one_of(kinds)


async def live_schema(hub: RunningHub) -> graphql.GraphQLSchema:
    """The schema as the running hub serves it (development keeps introspection on)."""
    result = await hub.gql(FUZZERS[0], INTROSPECTION)
    assert not result.errors, result.errors
    return graphql.build_client_schema(result.data)


@dataclass
class Tally:
    """What the fuzzed operations got back, by status and error code, and every failure."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def record(self, who: str, query: str, response: httpx.Response, problems: list[str]) -> None:
        self.sent += 1
        self.statuses[response.status_code] += 1
        try:
            errors = response.json().get("errors") or []
        except (ValueError, AttributeError):
            errors = []
        for error in errors:
            if isinstance(error, dict):
                self.codes[str((error.get("extensions") or {}).get("code"))] += 1
        if not errors:
            self.codes["(no errors)"] += 1
        if problems:
            self.failures.append((who, query, problems))


async def _post(hub: RunningHub, query: str, token: str) -> httpx.Response:
    return await hub.http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )


async def fuzz_one(hub: RunningHub, who: str, query: str, tally: Tally) -> list[str]:
    """Send one operation as ``who``; the problems with the answer and with the idle hub."""
    response = await _post(hub, query, await hub.token(who))
    if response.status_code == 401:
        # Access tokens live 15 minutes and a long run outlives them: fetch a fresh one.
        fresh = (await hub.fetch_token(who))["access_token"]
        hub._tokens[(who, None)] = fresh
        response = await _post(hub, query, fresh)
    problems = verdict(response)
    if not await write_lock_free(hub):
        problems.append("a write lock is still held after the answer")
    tally.record(who, query, response, problems)
    return problems


def on_loop(
    loop: asyncio.AbstractEventLoop,
) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Run a coroutine on the hub's event loop from hypothesis's (synchronous) thread."""

    def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    return run
