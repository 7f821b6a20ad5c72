"""A referral page converts each organisation it names once, not once per row.

A page of 30 referrals from one sender to one receiver names two organisations; converting
them again for every row (sender and receiver, 60 conversions) was a tenth of the page's CPU.
Counted on the hub serving a real HTTP request in this process.
"""

from __future__ import annotations

from typing import Any

import pytest

from schema.organizations import Organization
from tests.api.test_page_statements import INBOX, copy_referrals, refer_cases
from tests.network import RunningHub


def counting_conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``Organization.from_row`` from now on, by the row's id."""
    converted: list[str] = []
    original = Organization.from_row.__func__  # type: ignore[attr-defined]

    def from_row(cls: type[Organization], row: Any) -> Organization:
        converted.append(row.id)
        result: Organization = original(cls, row)
        return result

    monkeypatch.setattr(Organization, "from_row", classmethod(from_row))
    return converted


async def test_a_page_converts_each_organisation_once(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await refer_cases(hub, 3)
    await copy_referrals(hub, 30)
    token = await hub.token("adhoc")
    converted = counting_conversions(monkeypatch)
    result = await hub.gql(None, INBOX, {"first": 30}, token=token)
    assert not result.errors, result.errors
    edges = result.data["referrals"]["edges"]
    assert len(edges) == 30
    sender = hub.members["ccpcr-koh-kong"].organization_id
    receiver = hub.members["adhoc"].organization_id
    assert sorted(converted) == sorted([sender, receiver])
    # Shared objects, still each row's own organisations, complete.
    for edge in edges:
        node = edge["node"]
        assert node["sender"]["id"] == sender and node["receiver"]["id"] == receiver
        assert node["sender"]["name"] and node["receiver"]["name"]
        assert node["sender"]["name"] != node["receiver"]["name"]


# Counts conversions over two identical queries: both must execute.
@pytest.mark.no_answer_cache
async def test_each_page_converts_its_own_organisations(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is kept between requests: each page converts its own, so an edit shows."""
    await refer_cases(hub, 2)
    token = await hub.token("adhoc")
    converted = counting_conversions(monkeypatch)
    first = await hub.gql(None, INBOX, {"first": 2}, token=token)
    second = await hub.gql(None, INBOX, {"first": 2}, token=token)
    assert not first.errors and not second.errors
    assert len(converted) == 4
    assert first.data == second.data
