"""ADHOC's inbox: newest first, walked by cursor without gaps or repeats, each page in the
same number of SQL statements whatever its size; outboxes, status filters, and strangers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.api.referral_steps import SENDER, moved, read_referral, record_consent, sent
from tests.api.test_cases_flow import SURVIVOR, open_case
from tests.network import GraphQLResult, RunningHub

PAGE = """
query($box: ReferralBox!, $first: Int!, $after: String, $status: ReferralStatus) {
  referrals(box: $box, first: $first, after: $after, status: $status) {
    edges { cursor node {
      id status sender { name } receiver { name } history { action }
      case { reference ageBand fullName legalNotes withheld { field } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@contextmanager
def statements(hub: RunningHub) -> Iterator[list[str]]:
    """Every SQL statement the hub's engine sends while the block runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = hub.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def page(
    hub: RunningHub,
    who: str,
    box: str = "INBOX",
    first: int = 20,
    after: str | None = None,
    status: str | None = None,
) -> GraphQLResult:
    variables = {"box": box, "first": first, "after": after, "status": status}
    return await hub.gql(who, PAGE, variables)


async def walk(
    hub: RunningHub, who: str, box: str, first: int, status: str | None = None
) -> list[str]:
    """Every id in a box, page by page."""
    ids: list[str] = []
    after = None
    while True:
        result = await page(hub, who, box, first, after, status)
        assert not result.errors, result.errors
        connection = result.data["referrals"]
        ids += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return ids
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]


async def cases_for_adhoc(hub: RunningHub, count: int) -> list[str]:
    cases = []
    for _ in range(count):
        case_id = await open_case(hub)
        await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
        cases.append(case_id)
    return cases


async def send_many(hub: RunningHub, cases: list[str], count: int, prefix: str) -> list[str]:
    """``count`` referrals to ADHOC, round-robin over ``cases``; their ids, oldest first."""
    ids = []
    for n in range(count):
        referral = await sent(hub, cases[n % len(cases)], "adhoc", f"{prefix}-{n:04d}")
        ids.append(referral["id"])
    return ids


async def test_an_inbox_page_of_100_costs_as_many_statements_as_a_page_of_10(
    hub: RunningHub,
) -> None:
    # Given 20 cases and 105 referrals of them in ADHOC's inbox,
    cases = await cases_for_adhoc(hub, 20)
    sent_ids = await send_many(hub, cases, 105, "kk-inbox")
    await hub.token("adhoc")

    # when ADHOC reads a page of 10 (10 cases) and a page of 100 (all 20 cases), each three
    # times, keeping the read with the fewest statements (the engine also carries the
    # process's own periodic work, such as the signing keys' reload once an interval has
    # passed, which can land inside any one read on a slow machine),
    counted: dict[int, list[str]] = {}
    for first in (10, 100):
        for _ in range(3):
            with statements(hub) as seen:
                result = await page(hub, "adhoc", first=first)
            assert not result.errors, result.errors
            edges = result.data["referrals"]["edges"]
            assert [e["node"]["id"] for e in edges] == sent_ids[::-1][:first]
            assert len({e["node"]["case"]["reference"] for e in edges}) == min(first, 20)
            for edge in edges:
                node = edge["node"]
                assert node["sender"]["name"] == "CCPCR Transit Centre Koh Kong"
                assert node["receiver"]["name"] == "ADHOC Legal Aid"
                assert node["history"] == [{"action": "SEND"}]
                # consented survivor fields come with the case, the rest is withheld.
                assert node["case"]["fullName"] == SURVIVOR["fullName"]
                assert node["case"]["legalNotes"] == SURVIVOR["legalNotes"]
                withheld = {w["field"] for w in node["case"]["withheld"]}
                assert {"healthNotes", "phone"} <= withheld
            if first not in counted or len(seen) < len(counted[first]):
                counted[first] = list(seen)

    # then both cost the same, nonzero, number of statements,
    assert len(counted[10]) == len(counted[100]) > 0, (counted[10], counted[100])
    # the disclosures of a page are written in the same count (the write engine is counted too).
    for first in (10, 100):
        assert any("INSERT INTO disclosures" in s for s in counted[first])

    # And walking the inbox 7 at a time gives every referral once, newest first.
    walked = await walk(hub, "adhoc", "INBOX", 7)
    assert walked == sent_ids[::-1]
    assert len(set(walked)) == 105


async def test_boxes_show_each_side_its_own_and_strangers_nothing(hub: RunningHub) -> None:
    cases = await cases_for_adhoc(hub, 2)
    sent_ids = await send_many(hub, cases, 12, "kk-boxes")
    newest_first = sent_ids[::-1]

    # The sender finds them in its outbox, the receiver in its inbox; not the other way round.
    assert await walk(hub, SENDER, "OUTBOX", 5) == newest_first
    assert await walk(hub, "adhoc", "INBOX", 5) == newest_first
    assert await walk(hub, SENDER, "INBOX", 5) == []
    assert await walk(hub, "adhoc", "OUTBOX", 5) == []

    # The shelter, a third organisation, sees neither box nor any referral.
    for box in ("INBOX", "OUTBOX"):
        result = await page(hub, "ccpcr-shelter", box, 100)
        assert result.data["referrals"] == {
            "edges": [],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }
    for rid in (sent_ids[0], sent_ids[-1]):
        hidden = await read_referral(hub, "ccpcr-shelter", rid)
        assert hidden.codes == ["NOT_FOUND"] and hidden.data == {"referral": None}

    # A cursor from ADHOC's inbox does not open anything in the shelter's.
    cursor = (await page(hub, "adhoc", first=3)).data["referrals"]["pageInfo"]["endCursor"]
    stranger = await page(hub, "ccpcr-shelter", first=100, after=cursor)
    assert stranger.data["referrals"]["edges"] == []


async def test_the_status_filter_narrows_a_box(hub: RunningHub) -> None:
    cases = await cases_for_adhoc(hub, 1)
    sent_ids = await send_many(hub, cases, 9, "kk-status")
    acknowledged = [sent_ids[1], sent_ids[4], sent_ids[7]]
    for rid in acknowledged:
        await moved(hub, "adhoc", "acknowledgeReferral", rid)
    await moved(hub, "adhoc", "acceptReferral", sent_ids[7])

    assert await walk(hub, "adhoc", "INBOX", 2, "ACKNOWLEDGED") == [sent_ids[4], sent_ids[1]]
    assert await walk(hub, "adhoc", "INBOX", 2, "ACCEPTED") == [sent_ids[7]]
    still_sent = [rid for rid in sent_ids[::-1] if rid not in acknowledged]
    assert await walk(hub, "adhoc", "INBOX", 4, "SENT") == still_sent
    assert await walk(hub, SENDER, "OUTBOX", 4, "SENT") == still_sent
    assert await walk(hub, "adhoc", "INBOX", 4, "COMPLETED") == []
    filtered = await page(hub, "adhoc", first=10, status="ACKNOWLEDGED")
    assert {e["node"]["status"] for e in filtered.data["referrals"]["edges"]} == {"ACKNOWLEDGED"}
