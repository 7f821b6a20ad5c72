"""A caseworker in Koh Kong looks for legal aid by province, in Khmer or in Latin letters:
the Koh Kong provider comes first, the national one after it; a place nobody knows is
refused, when searching and when publishing a service."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from store.migrate import upgrade
from tests.api.referral_steps import SENDER
from tests.api.repatriation_support import fetch
from tests.api.test_free_text_migration import downgrade
from tests.network import RunningHub

SEARCH = """
query($category: ServiceCategory, $area: String) {
  services(category: $category, area: $area) {
    organizationId areasServed capacityStatus places { code name khmerName }
  }
}"""
PUBLISH = """
mutation($input: PublishServiceInput!) {
  publishService(input: $input) { areasServed places { code name khmerName } }
}"""


async def publish(
    hub: RunningHub, who: str, areas: list[str], **extra: object
) -> dict[str, object]:
    result = await hub.gql(
        who,
        PUBLISH,
        {
            "input": {
                "organizationId": hub.members[who].organization_id,
                "category": "LEGAL_AID",
                "areasServed": areas,
                **extra,
            }
        },
    )
    assert not result.errors, result.body
    answer: dict[str, object] = result.data["publishService"]
    return answer


async def test_a_koh_kong_search_finds_the_national_provider_after_the_koh_kong_one(
    hub: RunningHub,
) -> None:
    org = {key: m.organization_id for key, m in hub.members.items()}
    # The transit centre starts legal aid in its province, on a waiting list: still first.
    local = await publish(hub, SENDER, ["Kaoh Kong"], capacityStatus="WAITLIST")
    assert local == {
        "areasServed": ["KH-9"],
        "places": [{"code": "KH-9", "name": "Koh Kong", "khmerName": "កោះកុង"}],
    }
    # The ministry adds national legal aid with more room than ADHOC: first among the national.
    await publish(hub, "mosavy", ["Cambodia"], available=40, maximum=50)
    for spelling in ("Koh Kong", "Kaoh Kong", "កោះកុង", "KH-9", "ខេត្ត កោះកុង"):
        found = await hub.gql(SENDER, SEARCH, {"category": "LEGAL_AID", "area": spelling})
        assert not found.errors, found.body
        assert [s["organizationId"] for s in found.data["services"]] == [
            org[SENDER],
            org["mosavy"],
            org["adhoc"],
        ], spelling
    # Another province: only the national providers; Bangkok: only the Thai partner.
    svay_rieng = await hub.gql(SENDER, SEARCH, {"category": "LEGAL_AID", "area": "ស្វាយរៀង"})
    assert [s["organizationId"] for s in svay_rieng.data["services"]] == [
        org["mosavy"],
        org["adhoc"],
    ]
    bangkok = await hub.gql(SENDER, SEARCH, {"category": "LEGAL_AID", "area": "Bangkok"})
    assert [s["organizationId"] for s in bangkok.data["services"]] == [org["ngo-thailand"]]
    # The whole country: national providers first, then the one serving part of it.
    country = await hub.gql(SENDER, SEARCH, {"category": "LEGAL_AID", "area": "KH"})
    assert [s["organizationId"] for s in country.data["services"]] == [
        org["mosavy"],
        org["adhoc"],
        org[SENDER],
    ]


@pytest.mark.parametrize("area", ["Atlantis", "KH-99", "Koh"])
async def test_a_search_for_no_known_place_is_bad_input_naming_it(
    hub: RunningHub, area: str
) -> None:
    found = await hub.gql(SENDER, SEARCH, {"category": "LEGAL_AID", "area": area})
    assert found.codes == ["BAD_USER_INPUT"], found.body
    assert repr(area) in found.errors[0]["message"]
    assert found.data is None


async def test_publishing_a_service_in_no_known_place_changes_nothing(hub: RunningHub) -> None:
    before = await fetch(hub, "SELECT id, areas_served FROM service_offers ORDER BY id")
    events = await hub.scalar("SELECT COUNT(*) FROM events")
    result = await hub.gql(
        "adhoc",
        PUBLISH,
        {
            "input": {
                "organizationId": hub.members["adhoc"].organization_id,
                "category": "LEGAL_AID",
                "areasServed": ["Koh Kong", "Neverland"],
            }
        },
    )
    assert result.codes == ["BAD_USER_INPUT"], result.body
    assert "'Neverland'" in result.errors[0]["message"]
    assert await fetch(hub, "SELECT id, areas_served FROM service_offers ORDER BY id") == before
    assert await hub.scalar("SELECT COUNT(*) FROM events") == events


async def test_the_migration_codes_known_names_and_keeps_unknown_ones(hub: RunningHub) -> None:
    adhoc = hub.members["adhoc"].organization_id
    await hub.db.dispose()
    url = hub.settings.database_url
    await downgrade(url, "0018_gaps")
    async with hub.db.write() as session:
        await session.execute(
            text("UPDATE service_offers SET areas_served = :areas WHERE organization_id = :org"),
            {"areas": json.dumps(["Koh Kong", "Kompong Som", "Mekong Delta", "KH"]), "org": adhoc},
        )
    await hub.db.dispose()
    await upgrade(url)
    rows = await fetch(
        hub, "SELECT areas_served FROM service_offers WHERE organization_id = :o", o=adhoc
    )
    stored = [json.loads(a) if isinstance(a, str) else a for (a,) in rows]
    assert stored == [["KH-9", "KH-18", "Mekong Delta", "KH"]]
    # The kept name covers nothing, the codes do: a Sihanoukville search finds ADHOC.
    found = await hub.gql(SENDER, SEARCH, {"category": "LEGAL_AID", "area": "Sihanoukville"})
    assert [s["areasServed"] for s in found.data["services"]] == stored
    assert found.data["services"][0]["places"] == [
        {"code": "KH-9", "name": "Koh Kong", "khmerName": "កោះកុង"},
        {"code": "KH-18", "name": "Preah Sihanouk", "khmerName": "ព្រះសីហនុ"},
        {"code": "KH", "name": "Cambodia", "khmerName": "កម្ពុជា"},
    ]
