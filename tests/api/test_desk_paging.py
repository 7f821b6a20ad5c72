"""The coordinator pages through the desk's lists like every other list: `first`/`after`,
every row once, in rank order, the same rows as the unpaged lists; an out-of-range `first` or
a cursor the hub did not hand out is refused, nothing returned."""

from __future__ import annotations

import base64
from typing import Any

from cases.demo_desk import seed_desk_history
from cases.demo_journey import seed_demo_journey
from gateway.app import data_cipher
from tests.api.repatriation_support import do
from tests.api.test_network_overview import OVERVIEW
from tests.network import RunningHub

COORDINATOR = "secretariat"
# Each paged list, the unpaged list it pages, and what tells its rows apart.
LISTS: dict[str, tuple[str, str]] = {
    "lateItemsConnection": ("lateItems", "kind id dueAt overdue"),
    "lateAcknowledgersConnection": ("lateAcknowledgers", "organizationId late"),
    "failingWebhooksConnection": ("failingWebhooks", "webhookId failedDeliveries"),
    "clientsNeedingAttentionConnection": ("clientsNeedingAttention", "clientId keyExpiresAt"),
}


def page_query(field: str) -> str:
    return f"""
query($first: Int!, $after: String) {{
  networkOverview(includeSettled: true) {{
    {field}(first: $first, after: $after) {{
      edges {{ cursor node {{ {LISTS[field][1]} }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""


def identity(row: dict[str, Any]) -> str:
    for key in ("webhookId", "clientId", "id", "organizationId"):
        if key in row:
            return str(row[key])
    raise AssertionError(row)


async def walk(hub: RunningHub, field: str, first: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        result = await hub.gql(COORDINATOR, page_query(field), {"first": first, "after": after})
        assert not result.errors, result.errors
        connection = result.data["networkOverview"][field]
        edges = connection["edges"]
        assert len(edges) <= first
        rows += [edge["node"] for edge in edges]
        if not connection["pageInfo"]["hasNextPage"]:
            assert connection["pageInfo"]["endCursor"] == (edges[-1]["cursor"] if edges else None)
            return rows
        assert len(edges) == first and connection["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        after = connection["pageInfo"]["endCursor"]
        assert len(rows) < 500, "the walk does not end"


async def test_the_coordinator_pages_through_every_desk_list(hub: RunningHub) -> None:
    # Given a desk with work on it: late and settled requests, a late acknowledger, a failing
    # webhook, clients to rotate
    cipher = data_cipher(hub.settings)
    await seed_demo_journey(hub.db, cipher, hub.members)
    await seed_desk_history(hub.db, cipher, hub.members)
    whole = await do(hub, COORDINATOR, OVERVIEW, {"settled": True}, "networkOverview")
    for field, (listed, _) in LISTS.items():
        expected = [identity(r) for r in whole[listed]]
        assert expected, f"the demo leaves {listed} empty: nothing to page"
        # When the coordinator walks the list one row at a time, and in pages of two
        one_by_one = await walk(hub, field, 1)
        by_two = await walk(hub, field, 2)
        # Then every row comes once, the same rows as the unpaged list, in one order
        seen = [identity(r) for r in one_by_one]
        assert len(seen) == len(set(seen)), field
        assert sorted(seen) == sorted(expected), field
        assert [identity(r) for r in by_two] == seen, field
    # Late items come most overdue first: every overdue one before any settled one, and
    # among the overdue the earliest deadline first
    items = await walk(hub, "lateItemsConnection", 1)
    flags = [i["overdue"] for i in items]
    assert flags == sorted(flags, reverse=True) and True in flags and False in flags
    overdue_deadlines = [i["dueAt"] for i in items if i["overdue"]]
    assert overdue_deadlines == sorted(overdue_deadlines)
    # (at least two late items, so walking one at a time went through a cursor)


async def test_out_of_range_pages_and_foreign_cursors_are_refused(hub: RunningHub) -> None:
    query = page_query("lateItemsConnection")
    referral_cursor = base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|abc").decode()
    refused: list[dict[str, Any]] = [
        {"first": 0},
        {"first": 101},
        {"first": 5, "after": "not a cursor"},
        {"first": 5, "after": referral_cursor},  # a cursor from another list of the hub
        {"first": 5, "after": base64.urlsafe_b64encode(b"[1, 2]").decode()},
        {"first": 5, "after": base64.urlsafe_b64encode(b"[]").decode()},
    ]
    for variables in refused:
        result = await hub.gql(COORDINATOR, query, variables)
        assert [e["extensions"]["code"] for e in result.errors] == ["BAD_USER_INPUT"], variables
        assert result.data is None or result.data["networkOverview"] is None, variables
    # And anyone but the coordinator is refused the whole overview, paged or not
    result = await hub.gql("adhoc", query, {"first": 5})
    assert [e["extensions"]["code"] for e in result.errors] == ["FORBIDDEN"]
    assert result.data is None or result.data["networkOverview"] is None
