"""An inbox page converts only what the operation reads: edge cursors only when asked for
(and the page's end cursor), the case's fields beyond id and status only when one is
selected. Counted on the hub serving real HTTP requests in this process; the answers are
checked against the stored rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

import schema.cases
import schema.referrals
from cases.models import Case, Referral
from cases.paging import decode_cursor
from tests.api.test_page_statements import INBOX, copy_referrals, refer_cases
from tests.network import RunningHub

WITH_CURSORS = """
query($first: Int!, $after: String) {
  referrals(box: INBOX, first: $first, after: $after) {
    edges { cursor node { id createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""

CASE_FIELDS = """
query($first: Int!) {
  referrals(box: INBOX, first: $first) {
    edges { node { id case { id status reference version } } }
  }
}"""


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Every call of ``module.name`` from now on, by its first argument."""
    calls: list[Any] = []
    original = getattr(module, name)

    def counted(first: Any, *rest: Any) -> Any:
        calls.append(first)
        return original(first, *rest)

    monkeypatch.setattr(module, name, counted)
    return calls


async def test_cursors_are_encoded_only_when_read(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await refer_cases(hub, 2)
    await copy_referrals(hub, 12)
    token = await hub.token("adhoc")
    encoded = counting(monkeypatch, schema.referrals, "encode_cursor")
    plain = await hub.gql(None, INBOX, {"first": 10}, token=token)
    assert not plain.errors, plain.errors
    assert len(plain.data["referrals"]["edges"]) == 10
    assert len(encoded) == 1, "the end cursor only: no edge's cursor was asked for"
    encoded.clear()
    first = await hub.gql(None, WITH_CURSORS, {"first": 5}, token=token)
    assert not first.errors, first.errors
    page = first.data["referrals"]
    assert len(encoded) == 5, "each edge's once, the end cursor the last edge's"
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    for edge in page["edges"]:
        at, row_id = decode_cursor(edge["cursor"])
        assert row_id == edge["node"]["id"]
        assert at.isoformat().replace("+00:00", "") == edge["node"]["createdAt"].replace(
            "+00:00", ""
        ).replace("Z", "")
    second = await hub.gql(
        None, WITH_CURSORS, {"first": 10, "after": page["pageInfo"]["endCursor"]}, token=token
    )
    assert not second.errors, second.errors
    rest = second.data["referrals"]
    assert rest["pageInfo"]["hasNextPage"] is False
    ids = [e["node"]["id"] for e in page["edges"] + rest["edges"]]
    assert len(ids) == len(set(ids)) == 12


async def test_case_fields_are_converted_only_when_selected(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await refer_cases(hub, 2)
    await copy_referrals(hub, 6)
    token = await hub.token("adhoc")
    converted = counting(monkeypatch, schema.cases, "_case_fields")
    result = await hub.gql(None, INBOX, {"first": 6}, token=token)
    assert not result.errors, result.errors
    assert all(e["node"]["case"]["id"] for e in result.data["referrals"]["edges"])
    assert converted == [], "id and status only: nothing else of the case converted"
    result = await hub.gql(None, CASE_FIELDS, {"first": 6}, token=token)
    assert not result.errors, result.errors
    nodes = [e["node"] for e in result.data["referrals"]["edges"]]
    assert len(converted) == 6, "once per case however many of its fields are read"
    async with hub.db.read() as session:
        referrals = {
            r.id: r
            for r in await session.scalars(
                select(Referral).where(Referral.id.in_([n["id"] for n in nodes]))
            )
        }
        cases = {
            c.id: c
            for c in await session.scalars(
                select(Case).where(Case.id.in_([r.case_id for r in referrals.values()]))
            )
        }
    for node in nodes:
        case = cases[referrals[node["id"]].case_id]
        assert node["case"] == {
            "id": case.id,
            "status": case.status,
            "reference": case.reference,
            "version": case.version,
        }
