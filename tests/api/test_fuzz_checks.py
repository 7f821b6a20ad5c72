"""The fuzzer's verdicts can fail: each kind of broken answer, and a held write lock, is caught."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.api.fuzz_support import verdict, write_lock_free
from tests.network import RunningHub, backend

JSON = {"content-type": "application/json"}


def answer(status: int, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, text=body, headers=JSON if headers is None else headers)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (
            answer(500, '{"errors": [{"message": "x", "extensions": {"code": "BAD_REQUEST"}}]}'),
            "status 500",
        ),
        (
            answer(400, "Bad Request", {"content-type": "text/plain"}),
            "non-JSON response (text/plain)",
        ),
        (answer(200, "{not json"), "body is not JSON"),
        (
            answer(200, '{"errors": [{"message": "x", "extensions": {"code": "INTERNAL"}}]}'),
            "INTERNAL",
        ),
        (answer(200, '{"errors": [{"message": "x"}]}'), "an error without extensions.code"),
        (
            answer(
                200,
                '{"errors": [{"message": "Traceback (most recent call last): ...", "extensions": {"code": "NOT_FOUND"}}]}',
            ),
            "stack trace or SQL in the response",
        ),
        (
            answer(
                200,
                '{"errors": [{"message": "SELECT cases.id FROM cases", "extensions": {"code": "NOT_FOUND"}}]}',
            ),
            "stack trace or SQL in the response",
        ),
        (
            answer(
                200,
                '{"errors": [{"message": "(sqlite3.OperationalError) database is locked", "extensions": {"code": "CONFLICT"}}]}',
            ),
            "stack trace or SQL in the response",
        ),
    ],
)
def test_a_broken_answer_is_a_finding(response: httpx.Response, problem: str) -> None:
    assert problem in verdict(response)


def test_a_clean_answer_is_not_a_finding() -> None:
    assert verdict(answer(200, '{"data": {"viewer": {"clientId": "c"}}}')) == []
    assert (
        verdict(
            answer(
                400,
                '{"errors": [{"message": "Cannot query field", "extensions": {"code": "BAD_USER_INPUT"}}]}',
                {"content-type": "application/graphql-response+json; charset=utf-8"},
            )
        )
        == []
    )


@pytest.mark.skipif(backend() != "sqlite", reason="the SQLite write-lock probe")
async def test_a_write_lock_held_while_the_hub_is_idle_is_found(hub: RunningHub) -> None:
    assert await write_lock_free(hub)
    path = make_url(hub.settings.database_url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert not await write_lock_free(hub)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert await write_lock_free(hub)


@pytest.mark.skipif(backend() != "postgresql", reason="the PostgreSQL idle-transaction probe")
async def test_a_transaction_left_idle_on_postgresql_is_found(hub: RunningHub) -> None:
    assert await write_lock_free(hub)
    async with hub.db.engine.connect() as connection:
        transaction = await connection.begin()
        await connection.exec_driver_sql("SELECT 1")
        assert not await write_lock_free(hub)
        await transaction.rollback()
    await asyncio.sleep(0)
    assert await write_lock_free(hub)
