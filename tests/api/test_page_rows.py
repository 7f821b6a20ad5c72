"""An inbox page is read as plain rows: no referral, case or organisation is loaded as a
mapped (ORM) object, and the answer is still each row's own referral, case and
organisations, complete.

Loading the page's rows as mapped objects was a third of the page's CPU. Counted on the
hub serving real HTTP requests in this process, through SQLAlchemy's ``load`` event,
which fires for every mapped object built from a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from cases.models import Case, Referral
from cases.referral_reads import CaseRecord
from orgs.models import Organization
from store.base import Base
from tests.api.test_page_statements import INBOX, copy_referrals, refer_cases
from tests.network import RunningHub

# Everything the page's rows feed: the referral's own fields, its case and both parties.
FULL = """
query($first: Int!, $after: String) {
  referrals(box: INBOX, first: $first, after: $after) {
    edges { cursor node { id caseId senderId receiverId services urgency purpose status
      version acknowledgeBy respondBy overdue createdAt updatedAt heldForConsent
      sender { id name kind country areasServed status version createdAt updatedAt }
      receiver { id name }
      case { id reference ownerId status version ageBand sex nationality languages needs
        createdAt updatedAt } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
def loaded() -> Iterator[list[str]]:
    """The class of every mapped object built from a row while the test runs."""
    names: list[str] = []

    def on_load(target: Any, context: Any) -> None:
        names.append(type(target).__name__)

    event.listen(Base, "load", on_load, propagate=True)
    try:
        yield names
    finally:
        event.remove(Base, "load", on_load)


def test_a_case_record_has_the_case_columns_in_table_order() -> None:
    """The page slices a case's columns off each row into a ``CaseRecord`` by position."""
    assert list(CaseRecord._fields) == [c.name for c in Case.__table__.c]


async def test_an_inbox_page_loads_no_mapped_object(hub: RunningHub, loaded: list[str]) -> None:
    await refer_cases(hub, 2)
    await copy_referrals(hub, 12)
    token = await hub.token("adhoc")
    loaded.clear()
    result = await hub.gql(None, INBOX, {"first": 10}, token=token)
    assert not result.errors, result.errors
    assert len(result.data["referrals"]["edges"]) == 10
    assert not {"Referral", "Case", "Organization"} & set(loaded), loaded


async def test_the_plain_rows_answer_what_the_mapped_rows_hold(
    hub: RunningHub, loaded: list[str]
) -> None:
    """Every field the rows feed equals the stored row's, over two pages (the second
    through the first's cursor), case and organisations included."""
    await refer_cases(hub, 3)
    await copy_referrals(hub, 7)
    token = await hub.token("adhoc")
    first = await hub.gql(None, FULL, {"first": 3}, token=token)
    assert not first.errors, first.errors
    page = first.data["referrals"]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await hub.gql(
        None, FULL, {"first": 3, "after": page["pageInfo"]["endCursor"]}, token=token
    )
    assert not second.errors, second.errors
    nodes = [e["node"] for e in page["edges"] + second.data["referrals"]["edges"]]
    assert len({n["id"] for n in nodes}) == 6
    loaded.clear()
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
                select(Case).where(Case.id.in_([n["caseId"] for n in nodes]))
            )
        }
        sender = await session.get(Organization, hub.members["ccpcr-koh-kong"].organization_id)
    assert sender is not None and len(referrals) == 6 and cases
    # The listener sees mapped loads: the page test above would see the page's.
    assert {"Referral", "Case", "Organization"} <= set(loaded), loaded
    for node in nodes:
        row = referrals[node["id"]]
        assert (node["caseId"], node["senderId"], node["receiverId"]) == (
            row.case_id,
            row.sender_organization_id,
            row.receiver_organization_id,
        )
        assert node["services"] == row.services and node["urgency"] == row.urgency
        assert (node["status"], node["version"], node["purpose"]) == (
            row.status,
            row.version,
            row.purpose,
        )
        assert node["createdAt"].startswith(row.created_at.isoformat()[:19])
        assert node["heldForConsent"] is row.held_for_consent
        assert node["sender"]["id"] == sender.id and node["sender"]["name"] == sender.name
        assert node["sender"]["areasServed"] == list(sender.areas_served)
        assert node["sender"]["version"] == sender.version
        assert node["receiver"]["id"] == hub.members["adhoc"].organization_id
        case = cases[row.case_id]
        assert node["case"] is not None, "adhoc is party to each case it was referred"
        assert (node["case"]["id"], node["case"]["reference"], node["case"]["ownerId"]) == (
            case.id,
            case.reference,
            case.owner_organization_id,
        )
        assert (node["case"]["status"], node["case"]["version"]) == (case.status, case.version)
        assert node["case"]["languages"] == case.languages and node["case"]["needs"] == case.needs
