"""The group view of a group repatriation: a fisherman held back (his consent does not cover
the embassy) shows there to every party as held, with his case id and a reason code and
nothing else of his; a retry after he consents brings him in and clears the hold."""

from __future__ import annotations

from typing import Any

from tests.api.repatriation_support import do, orgs
from tests.api.test_incident_groups import FISHERMEN, REQUEST_GROUP, consent, fishing_boat
from tests.network import RunningHub

VIEW = """
query($id: ID!) {
  groupRepatriation(id: $id) {
    id
    requests { caseId status }
    held { caseId code reason heldAt }
  }
}"""
PARTIES = ("adhoc", "embassy-bangkok", "mosavy")


def _asking(hub: RunningHub, group_id: str, key: str) -> dict[str, Any]:
    org = orgs(hub)
    return {
        "input": {
            "groupId": group_id,
            "embassyId": org["embassy-bangkok"],
            "receivingOrganizationId": org["mosavy"],
            "currentCountry": "TH",
            "situation": "SHELTER",
            "documentsHeld": ["NONE"],
            "assistanceNeeded": ["ESCORT"],
            "urgency": "URGENT",
            "idempotencyKey": key,
        }
    }


async def test_a_held_fisherman_shows_on_the_group_view_to_every_party(hub: RunningHub) -> None:
    group_id, (a, b, c) = await fishing_boat(hub)
    await consent(
        hub, "adhoc", a, ["embassy-bangkok", "mosavy"], ["REPATRIATION"], ["IDENTITY", "LOCATION"]
    )
    await consent(hub, "adhoc", b, ["mosavy"], ["REPATRIATION"], ["IDENTITY"])  # not the embassy
    asking = _asking(hub, group_id, "group-view-0001")
    result = await do(hub, "adhoc", REQUEST_GROUP, asking, "requestGroupRepatriation")
    outing_id = result["groupRepatriation"]["id"]
    assert [r["caseId"] for r in result["refused"]] == [b]

    for party in PARTIES:
        seen = await do(hub, party, VIEW, {"id": outing_id}, "groupRepatriation")
        assert [r["caseId"] for r in seen["requests"]] == [a], party
        assert [(h["caseId"], h["code"], h["reason"]) for h in seen["held"]] == [
            (b, "CONSENT_REQUIRED", "CONSENT_DOES_NOT_COVER_PARTIES")
        ], party
        assert seen["held"][0]["heldAt"], party
        # Nobody's name, and never the case of the fisherman not in this repatriation.
        assert not any(name in str(seen) for name in FISHERMEN), party
        assert c not in str(seen), party
    for stranger in ("ngo-malaysia", "ngo-thailand", "embassy-beijing"):
        hidden = await hub.gql(stranger, VIEW, {"id": outing_id})
        assert hidden.codes == ["NOT_FOUND"], stranger

    # What is stored: the ids and codes, one row.
    assert await hub.scalar("SELECT count(*) FROM group_repatriation_held") == 1
    assert await hub.scalar("SELECT case_id FROM group_repatriation_held") == b
    assert (
        await hub.scalar("SELECT reason FROM group_repatriation_held")
        == "CONSENT_DOES_NOT_COVER_PARTIES"
    )

    # The same request retried, nothing changed: no second hold, event or audit entry.
    tables = ("group_repatriation_held", "events", "audit")
    before = [await hub.scalar(f"SELECT count(*) FROM {t}") for t in tables]
    again = await do(hub, "adhoc", REQUEST_GROUP, asking, "requestGroupRepatriation")
    assert [r["caseId"] for r in again["refused"]] == [b]
    assert [await hub.scalar(f"SELECT count(*) FROM {t}") for t in tables] == before

    # He consents; the retry brings him in and the hold is gone for every party.
    await consent(hub, "adhoc", b, ["embassy-bangkok"], ["REPATRIATION"], ["IDENTITY"])
    done = await do(hub, "adhoc", REQUEST_GROUP, asking, "requestGroupRepatriation")
    assert done["refused"] == []
    for party in PARTIES:
        seen = await do(hub, party, VIEW, {"id": outing_id}, "groupRepatriation")
        assert seen["held"] == [], party
        assert sorted(r["caseId"] for r in seen["requests"]) == sorted([a, b]), party
    assert await hub.scalar("SELECT count(*) FROM group_repatriation_held") == 0


async def test_nothing_is_held_when_nobody_may_go(hub: RunningHub) -> None:
    group_id, (a, _b, _c) = await fishing_boat(hub)
    await consent(hub, "adhoc", a, ["mosavy"], ["REPATRIATION"], ["IDENTITY"])
    result = await hub.gql("adhoc", REQUEST_GROUP, _asking(hub, group_id, "group-view-0002"))
    assert result.codes == ["CONSENT_REQUIRED"]
    assert await hub.scalar("SELECT count(*) FROM group_repatriation_held") == 0
    assert await hub.scalar("SELECT count(*) FROM group_repatriations") == 0
