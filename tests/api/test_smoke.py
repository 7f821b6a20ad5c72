"""A partner gets a token with a standard OAuth client and asks who it is."""

from __future__ import annotations

from tests.network import RunningHub


async def test_a_shelter_asks_who_it_is(hub: RunningHub) -> None:
    result = await hub.gql(
        "ccpcr-shelter", "{ viewer { organization { id name kind status } clientId scopes } }"
    )
    assert result.status == 200, result.body
    viewer = result.data["viewer"]
    shelter = hub.members["ccpcr-shelter"]
    assert viewer["organization"] == {
        "id": shelter.organization_id,
        "name": shelter.name,
        "kind": "SERVICE_PROVIDER",
        "status": "ACTIVE",
    }
    assert viewer["clientId"] == shelter.client_id
    assert set(viewer["scopes"]) == set(shelter.scopes)
