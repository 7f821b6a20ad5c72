"""Cases are paged like every other list, and every list refuses an out-of-range `first`
the same way: BAD_USER_INPUT, nothing clamped, nothing returned."""

from __future__ import annotations

from typing import Any

from tests.api.referral_steps import SENDER, record_consent
from tests.api.test_cases_flow import open_case
from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

CASES = """
query($first: Int!, $after: String, $status: CaseStatus) {
  cases(first: $first, after: $after, status: $status) {
    edges { cursor node { id status } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NAMES = "query($first: Int!) { cases(first: $first) { edges { node { id fullName } } } }"
STATUS = (
    "mutation($id: ID!, $status: CaseStatus!) "
    "{ updateCaseStatus(caseId: $id, status: $status) { id status } }"
)
LISTS: dict[str, tuple[str, dict[str, Any], int]] = {
    "cases": ("query($first: Int!) { cases(first: $first) { edges { cursor } } }", {}, 100),
    "referrals": (
        "query($first: Int!) { referrals(box: INBOX, first: $first) { edges { cursor } } }",
        {},
        100,
    ),
    "repatriationRequests": (
        "query($first: Int!) { repatriationRequests(box: OUTBOX, first: $first) "
        "{ edges { cursor } } }",
        {},
        100,
    ),
    "events": ("query($first: Int!) { events(first: $first) { endCursor } }", {}, 500),
}


async def cases_page(
    hub: RunningHub, who: str, first: int, after: str | None = None, status: str | None = None
) -> GraphQLResult:
    return await hub.gql(who, CASES, {"first": first, "after": after, "status": status})


async def walk(hub: RunningHub, who: str, first: int, status: str | None = None) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        result = await cases_page(hub, who, first, after, status)
        assert not result.errors, result.errors
        connection = result.data["cases"]
        assert len(connection["edges"]) <= first
        ids += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return ids
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]


async def test_the_transit_centre_walks_its_cases_by_cursor_newest_first(hub: RunningHub) -> None:
    earlier = await walk(hub, SENDER, 100)
    opened = [await open_case(hub) for _ in range(12)]

    walked = await walk(hub, SENDER, 5)
    assert walked == opened[::-1] + earlier
    assert len(set(walked)) == len(walked)
    assert await walk(hub, SENDER, 100) == walked

    # A full last page says there is no next one; the page before it says there is.
    first_page = (await cases_page(hub, SENDER, len(walked) - 1)).data["cases"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    whole = (await cases_page(hub, SENDER, len(walked))).data["cases"]
    assert whole["pageInfo"]["hasNextPage"] is False
    assert whole["pageInfo"]["endCursor"] == whole["edges"][-1]["cursor"]

    # The status filter pages the same way.
    for case_id in opened[2:5]:
        moved = await hub.gql(SENDER, STATUS, {"id": case_id, "status": "IN_CARE"})
        assert not moved.errors, moved.errors
    assert await walk(hub, SENDER, 2, "IN_CARE") == opened[2:5][::-1]

    # An organisation with no part in them pages through nothing.
    stranger = await cases_page(hub, "ngo-malaysia", 100)
    assert not stranger.errors, stranger.errors
    assert set(opened).isdisjoint(e["node"]["id"] for e in stranger.data["cases"]["edges"])

    # A cursor that is not one is refused, not read as the first page.
    for bad in ("not-a-cursor", "MjAyNg=="):
        refused = await cases_page(hub, SENDER, 5, after=bad)
        assert refused.codes == ["BAD_USER_INPUT"] and refused.data is None, refused.body


async def test_only_the_cases_on_the_page_are_opened_and_disclosed(hub: RunningHub) -> None:
    for _ in range(3):
        case_id = await open_case(hub)
        await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    before = await hub.scalar("SELECT COUNT(*) FROM disclosures")

    shown = await hub.gql("adhoc", NAMES, {"first": 2})
    assert not shown.errors, shown.errors
    assert [e["node"]["fullName"] for e in shown.data["cases"]["edges"]] == [
        planted("Sok Dara")
    ] * 2
    # Two cases shown, two disclosures: the third, read only to know more follow, is not.
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures") == before + 2


async def test_every_list_refuses_an_out_of_range_first_the_same_way(hub: RunningHub) -> None:
    for field, (query, variables, maximum) in LISTS.items():
        for first in (0, -1, maximum + 1, 100_000):
            result = await hub.gql(SENDER, query, {**variables, "first": first})
            assert result.codes == ["BAD_USER_INPUT"], (field, first, result.body)
            assert result.errors[0]["message"] == f"first must be from 1 to {maximum}", field
            assert result.data is None, (field, first)
        for first in (1, maximum):
            accepted = await hub.gql(SENDER, query, {**variables, "first": first})
            assert not accepted.errors, (field, first, accepted.errors)
            assert field in accepted.data
