"""API clients: the secretariat creates its own and may disable anyone's; a member rotates
its own client's secret (members register their clients themselves, see
test_client_registration). A secret is shown once and the hub keeps only its hash.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import text

from tests.api.registration_support import register_secret_client
from tests.network import GraphQLResult, RunningHub

TABLES = ("organizations", "membership_changes", "events", "audit", "api_clients")

CREATE_CLIENT = """
mutation Create($input: CreateClientInput!) {
  createClient(input: $input) {
    clientId clientSecret
    client { clientId organizationId name scopes enabled tokenEndpointAuthMethods }
  }
}
"""
ROTATE = """
mutation Rotate($c: String!) {
  rotateClientSecret(clientId: $c) { clientId clientSecret client { enabled } }
}
"""
DISABLE = "mutation Disable($c: String!) { disableClient(clientId: $c) { clientId enabled } }"
REVOKE = """
mutation Revoke($id: ID!) { revokeMembership(id: $id, reason: "left the network") { status } }
"""
CLIENTS = """
query Clients($id: ID!) {
  organization(id: $id) {
    clients { clientId organizationId name scopes enabled tokenEndpointAuthMethods
              createdAt secretRotatedAt }
  }
}
"""
VIEWER = "{ viewer { organization { id } clientId scopes } }"


async def counts(hub: RunningHub) -> dict[str, int]:
    return {table: int(await hub.scalar(f"SELECT COUNT(*) FROM {table}")) for table in TABLES}


async def refused(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], code: str
) -> GraphQLResult:
    before = await counts(hub)
    result = await hub.gql(who, query, variables)
    assert result.codes == [code], result.body
    assert result.data is None, result.body
    assert await counts(hub) == before
    return result


async def token_for(hub: RunningHub, client_id: str, secret: str) -> dict[str, Any]:
    async with AsyncOAuth2Client(client_id, secret) as client:
        token: dict[str, Any] = await client.fetch_token(
            hub.token_url, grant_type="client_credentials"
        )
    return token


async def assert_no_token(hub: RunningHub, client_id: str, secret: str) -> None:
    with pytest.raises(OAuthError) as refused_token:
        await token_for(hub, client_id, secret)
    assert refused_token.value.error == "invalid_client"


async def create(hub: RunningHub, scopes: list[str]) -> dict[str, Any]:
    """The secretariat creates a client for its own organisation."""
    org = hub.members["secretariat"].organization_id
    result = await hub.gql(
        "secretariat",
        CREATE_CLIENT,
        {"input": {"organizationId": org, "name": "Secretariat reporting v2", "scopes": scopes}},
    )
    assert result.errors == [], result.body
    issued: dict[str, Any] = result.data["createClient"]
    return issued


async def test_the_coordinator_creates_a_client_of_its_own_and_it_works(hub: RunningHub) -> None:
    secretariat = hub.members["secretariat"]
    before = await counts(hub)

    issued = await create(hub, ["repatriation:read", "orgs:read"])

    secret = issued["clientSecret"]
    assert len(secret) >= 40
    assert issued["client"] == {
        "clientId": issued["clientId"],
        "organizationId": secretariat.organization_id,
        "name": "Secretariat reporting v2",
        "scopes": ["orgs:read", "repatriation:read"],
        "enabled": True,
        "tokenEndpointAuthMethods": ["client_secret_basic", "client_secret_post"],
    }
    after = await counts(hub)
    assert {t: after[t] - before[t] for t in TABLES} == {
        "organizations": 0,
        "membership_changes": 0,
        "events": 1,
        "audit": 1,
        "api_clients": 1,
    }
    token = await token_for(hub, issued["clientId"], secret)
    assert set(token["scope"].split()) == {"orgs:read", "repatriation:read"}
    me = await hub.gql(None, VIEWER, token=token["access_token"])
    assert me.errors == [], me.body
    assert me.data["viewer"] == {
        "organization": {"id": secretariat.organization_id},
        "clientId": issued["clientId"],
        "scopes": ["orgs:read", "repatriation:read"],
    }


async def test_the_hub_keeps_only_a_hash_of_a_client_secret(hub: RunningHub) -> None:
    issued = await create(hub, ["orgs:read"])
    secret = issued["clientSecret"]

    async with hub.db.read() as session:
        for table in ("api_clients", "events", "audit"):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
            for row in rows:
                for value in row:
                    assert secret not in str(value), table
        stored = await session.scalar(
            text("SELECT secret_hash FROM api_clients WHERE client_id = :c"),
            {"c": issued["clientId"]},
        )
    assert stored and stored != secret

    org = hub.members["secretariat"].organization_id
    listed = await hub.gql("secretariat", CLIENTS, {"id": org})
    assert listed.errors == [], listed.body
    assert issued["clientId"] in [c["clientId"] for c in listed.data["organization"]["clients"]]
    assert secret not in json.dumps(listed.body)
    # There is no field to ask for a stored secret.
    asked = await hub.gql(
        "secretariat",
        "query($id: ID!) { organization(id: $id) { clients { clientId clientSecret } } }",
        {"id": org},
    )
    assert asked.codes == ["BAD_USER_INPUT"], asked.body
    assert asked.data is None


@pytest.mark.parametrize(
    "scopes",
    [["orgs:read", "cases:read"], ["orgs:read", "pii:read"], ["orgs:read", "cases:delete"], []],
    ids=["survivor-cases", "pii", "unknown-scope", "no-scopes"],
)
async def test_a_client_cannot_get_scopes_its_organisation_may_not_hold(
    hub: RunningHub, scopes: list[str]
) -> None:
    org = hub.members["secretariat"].organization_id
    create_input = {"organizationId": org, "name": "wants more", "scopes": scopes}
    await refused(hub, "secretariat", CREATE_CLIENT, {"input": create_input}, "BAD_USER_INPUT")


@pytest.mark.parametrize("member", ["ccpcr-shelter", "embassy-beijing"])
async def test_the_coordinator_cannot_create_a_client_for_a_member(
    hub: RunningHub, member: str
) -> None:
    org = hub.members[member].organization_id
    create_input = {"organizationId": org, "name": "shadow", "scopes": ["orgs:read"]}
    result = await refused(hub, "secretariat", CREATE_CLIENT, {"input": create_input}, "FORBIDDEN")
    assert "registration token" in result.errors[0]["message"]
    # Nor once the member is revoked, nor for an organisation that does not exist.
    revoked = await hub.gql("secretariat", REVOKE, {"id": org})
    assert revoked.errors == [], revoked.body
    await refused(hub, "secretariat", CREATE_CLIENT, {"input": create_input}, "FORBIDDEN")
    ghost = {**create_input, "organizationId": "00000000-0000-0000-0000-000000000000"}
    await refused(hub, "secretariat", CREATE_CLIENT, {"input": ghost}, "FORBIDDEN")


async def test_a_member_rotates_its_own_secret_and_the_old_one_retires_at_once(
    hub: RunningHub,
) -> None:
    shelter = hub.members["ccpcr-shelter"]
    before = await counts(hub)

    result = await hub.gql("ccpcr-shelter", ROTATE, {"c": shelter.client_id})

    assert result.errors == [], result.body
    rotated = result.data["rotateClientSecret"]
    assert rotated["clientId"] == shelter.client_id
    assert rotated["client"] == {"enabled": True}
    new_secret = rotated["clientSecret"]
    assert new_secret != shelter.client_secret
    after = await counts(hub)
    assert (after["events"] - before["events"], after["audit"] - before["audit"]) == (1, 1)
    event = await hub.scalar(
        "SELECT audience FROM events WHERE type = 'CLIENT_SECRET_ROTATED' ORDER BY id DESC"
    )
    assert shelter.organization_id in str(event)
    await assert_no_token(hub, shelter.client_id, shelter.client_secret)
    token = await token_for(hub, shelter.client_id, new_secret)
    assert token["access_token"]


@pytest.mark.parametrize(
    ("caller", "code"),
    [("secretariat", "FORBIDDEN"), ("adhoc", "NOT_FOUND"), ("embassy-bangkok", "NOT_FOUND")],
)
async def test_nobody_but_the_member_rotates_its_secret(
    hub: RunningHub, caller: str, code: str
) -> None:
    shelter = hub.members["ccpcr-shelter"]
    await refused(hub, caller, ROTATE, {"c": shelter.client_id}, code)
    assert (await token_for(hub, shelter.client_id, shelter.client_secret))["access_token"]


async def test_rotating_needs_the_clients_manage_scope(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"]
    narrow = await hub.token("ccpcr-shelter", "orgs:read cases:read")
    before = await counts(hub)
    result = await hub.gql(None, ROTATE, {"c": shelter.client_id}, token=narrow)
    assert result.codes == ["FORBIDDEN"], result.body
    assert await counts(hub) == before


async def test_a_disabled_client_gets_no_more_tokens(hub: RunningHub) -> None:
    ngo = hub.members["ngo-malaysia"]
    assert (await token_for(hub, ngo.client_id, ngo.client_secret))["access_token"]

    result = await hub.gql("secretariat", DISABLE, {"c": ngo.client_id})

    assert result.errors == [], result.body
    assert result.data["disableClient"] == {"clientId": ngo.client_id, "enabled": False}
    await assert_no_token(hub, ngo.client_id, ngo.client_secret)
    # Disabling it again is not a change: refused, and nothing recorded.
    await refused(hub, "secretariat", DISABLE, {"c": ngo.client_id}, "INVALID_TRANSITION")


async def test_a_disabled_client_cannot_be_given_a_new_secret(hub: RunningHub) -> None:
    # Given the Thai NGO registered a second client, which the secretariat disabled
    desk, secret = await register_secret_client(hub, "ngo-thailand", "desk", ["orgs:read"])
    disabled = await hub.gql("secretariat", DISABLE, {"c": desk})
    assert disabled.errors == [], disabled.body
    # Then the NGO cannot bring it back by rotating its secret
    await refused(hub, "ngo-thailand", ROTATE, {"c": desk}, "INVALID_TRANSITION")
    await assert_no_token(hub, desk, secret)


async def test_clients_of_unknown_ids_are_not_found(hub: RunningHub) -> None:
    await refused(hub, "secretariat", ROTATE, {"c": "rh_does-not-exist"}, "NOT_FOUND")
    await refused(hub, "ccpcr-shelter", ROTATE, {"c": "rh_does-not-exist"}, "NOT_FOUND")
    await refused(hub, "secretariat", DISABLE, {"c": "rh_does-not-exist"}, "NOT_FOUND")


@pytest.mark.parametrize("caller", ["ccpcr-shelter", "embassy-kuala-lumpur"])
async def test_only_the_coordinator_creates_clients_and_a_member_revokes_only_its_own(
    hub: RunningHub, caller: str
) -> None:
    own = hub.members[caller]
    create_input = {"organizationId": own.organization_id, "name": "mine", "scopes": ["orgs:read"]}
    await refused(hub, caller, CREATE_CLIENT, {"input": create_input}, "FORBIDDEN")
    # Another member's client does not exist for the caller.
    await refused(hub, caller, DISABLE, {"c": hub.members["adhoc"].client_id}, "NOT_FOUND")
    adhoc = hub.members["adhoc"]
    assert (await token_for(hub, adhoc.client_id, adhoc.client_secret))["access_token"]
    # Without clients:manage a member revokes nothing, not even its own client.
    narrow = await hub.token(caller, "orgs:read")
    result = await hub.gql(None, DISABLE, {"c": own.client_id}, token=narrow)
    assert result.codes == ["FORBIDDEN"]
    assert (await token_for(hub, own.client_id, own.client_secret))["access_token"]
    # Its own client it may revoke (the console's admin page does the same).
    result = await hub.gql(caller, DISABLE, {"c": own.client_id})
    assert result.data == {"disableClient": {"clientId": own.client_id, "enabled": False}}
    assert (
        await hub.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(own.client_id, own.client_secret),
        )
    ).status_code != 200
