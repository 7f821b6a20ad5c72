"""Partners get access tokens from the hub's token endpoint with a standard OAuth client.

Covers client_secret_basic and client_secret_post, the shape of the issued RFC 9068 token,
refused client authentication, malformed requests, scopes, and the published metadata.
"""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.base_client import OAuthError

from tests.network import RunningHub

TABLES = ("events", "audit", "organizations", "api_clients", "revoked_tokens", "used_assertions")


async def row_counts(hub: RunningHub) -> dict[str, int]:
    return {table: await hub.scalar(f"SELECT COUNT(*) FROM {table}") for table in TABLES}


async def decode_access_token(hub: RunningHub, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, checked with PyJWT against the published JWKS only."""
    jwks = (await hub.http.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=f"{hub.base_url}/graphql",
        issuer=hub.base_url,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    return header, claims


async def ask_for_token(
    hub: RunningHub, auth: tuple[str, str] | None, **form: str
) -> httpx.Response:
    return await hub.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
    )


def basic(hub: RunningHub, member: str) -> tuple[str, str]:
    m = hub.members[member]
    return (m.client_id, m.client_secret)


# --- issuing tokens ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_a_shelter_gets_a_signed_access_token_with_its_client_secret(
    hub: RunningHub, method: str
) -> None:
    shelter = hub.members["ccpcr-shelter"]
    sent: list[httpx.Request] = []
    received: list[httpx.Response] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(request)

    async def on_response(response: httpx.Response) -> None:
        received.append(response)

    # Given the shelter's case system, configured for one client authentication method
    async with hub.oauth_client(
        "ccpcr-shelter",
        token_endpoint_auth_method=method,
        event_hooks={"request": [on_request], "response": [on_response]},
    ) as client:
        # When it asks for a token
        token = await client.fetch_token(hub.token_url, grant_type="client_credentials")

    # Then the credentials travelled the way the method says
    (request,) = sent
    body = request.content.decode()
    if method == "client_secret_basic":
        assert request.headers["authorization"].startswith("Basic ")
        assert "client_secret" not in body
    else:
        assert "authorization" not in request.headers
        assert f"client_id={shelter.client_id}" in body
        assert "client_secret=" in body
    # And the response is a bearer token that must not be cached
    (response,) = received
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    # And the access token is an RFC 9068 JWT for the hub's GraphQL endpoint
    header, claims = await decode_access_token(hub, token["access_token"])
    jwks = (await hub.http.get("/.well-known/jwks.json")).json()
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert claims["iss"] == hub.base_url
    assert claims["aud"] == f"{hub.base_url}/graphql"
    assert claims["sub"] == shelter.client_id
    assert claims["client_id"] == shelter.client_id
    assert claims["org"] == shelter.organization_id
    assert claims["scope"] == " ".join(sorted(shelter.scopes))
    assert claims["exp"] - claims["iat"] == 900
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    # And the token opens the GraphQL API
    result = await hub.gql(None, "{ viewer { clientId } }", token=token["access_token"])
    assert result.status == 200
    assert result.data == {"viewer": {"clientId": shelter.client_id}}


async def test_every_token_has_its_own_id(hub: RunningHub) -> None:
    first = await hub.fetch_token("adhoc")
    second = await hub.fetch_token("adhoc")
    _, one = await decode_access_token(hub, first["access_token"])
    _, two = await decode_access_token(hub, second["access_token"])
    assert one["jti"] != two["jti"]


# --- refused client authentication --------------------------------------------------


async def test_an_unknown_client_is_refused(hub: RunningHub) -> None:
    before = await row_counts(hub)
    response = await ask_for_token(hub, ("rh_nobody-at-all", "rhs_whatever"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert "access_token" not in response.json()
    # The same answer by post: whether a client exists is not given away.
    by_post = await ask_for_token(
        hub, None, client_id="rh_nobody-at-all", client_secret="rhs_whatever"
    )
    assert (by_post.status_code, by_post.json()["error"]) == (401, "invalid_client")
    assert await row_counts(hub) == before


async def test_a_wrong_secret_is_refused_with_basic_and_with_post(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"]
    before = await row_counts(hub)
    with_basic = await ask_for_token(hub, (shelter.client_id, shelter.client_secret + "x"))
    with_post = await ask_for_token(
        hub, None, client_id=shelter.client_id, client_secret="rhs_not-the-secret"
    )
    assert (with_basic.status_code, with_basic.json()["error"]) == (401, "invalid_client")
    assert (with_post.status_code, with_post.json()["error"]) == (401, "invalid_client")
    assert await row_counts(hub) == before


async def test_a_request_without_any_client_authentication_is_refused(hub: RunningHub) -> None:
    response = await ask_for_token(hub, None)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_a_disabled_client_gets_no_token(hub: RunningHub) -> None:
    # Given the secretariat disabled the Kuala Lumpur embassy's client
    embassy = hub.members["embassy-kuala-lumpur"]
    disabled = await hub.gql(
        "secretariat",
        "mutation($c: String!) { disableClient(clientId: $c) { clientId enabled } }",
        {"c": embassy.client_id},
    )
    assert disabled.data == {"disableClient": {"clientId": embassy.client_id, "enabled": False}}
    before = await row_counts(hub)
    # When the embassy asks for a token with its (still correct) secret
    response = await ask_for_token(hub, basic(hub, "embassy-kuala-lumpur"))
    # Then it is refused as if the client did not exist, and nothing is written
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert await row_counts(hub) == before
    # And authlib's client reports the same refusal
    with pytest.raises(OAuthError) as refused:
        await hub.fetch_token("embassy-kuala-lumpur")
    assert refused.value.error == "invalid_client"


async def test_a_client_of_a_suspended_organisation_gets_no_token(hub: RunningHub) -> None:
    # Given the secretariat suspended the Beijing embassy
    embassy = hub.members["embassy-beijing"]
    suspended = await hub.gql(
        "secretariat",
        'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit pending") { status } }',
        {"id": embassy.organization_id},
    )
    assert suspended.data == {"suspendOrganization": {"status": "SUSPENDED"}}
    before = await row_counts(hub)
    # When its client asks for a token, by basic or by post
    with_basic = await ask_for_token(hub, basic(hub, "embassy-beijing"))
    with_post = await ask_for_token(
        hub, None, client_id=embassy.client_id, client_secret=embassy.client_secret
    )
    # Then both are refused and nothing is written
    assert (with_basic.status_code, with_basic.json()["error"]) == (401, "invalid_client")
    assert (with_post.status_code, with_post.json()["error"]) == (401, "invalid_client")
    assert await row_counts(hub) == before


# --- malformed requests -----------------------------------------------------------------


async def test_a_json_body_is_refused_as_an_invalid_request(hub: RunningHub) -> None:
    before = await row_counts(hub)
    response = await hub.http.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        auth=basic(hub, "ccpcr-shelter"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"
    assert await row_counts(hub) == before


@pytest.mark.parametrize(
    "body",
    [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=orgs:read&scope=network:admin",
    ],
)
async def test_a_repeated_parameter_is_refused(hub: RunningHub, body: str) -> None:
    response = await hub.http.post(
        "/oauth/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=basic(hub, "secretariat"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_the_password_grant_is_not_supported(hub: RunningHub) -> None:
    before = await row_counts(hub)
    response = await hub.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "caseworker", "password": "secret"},
        auth=basic(hub, "ccpcr-shelter"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert await row_counts(hub) == before


# --- scopes -------------------------------------------------------------------------------


async def test_without_a_scope_a_client_gets_all_its_scopes(hub: RunningHub) -> None:
    embassy = hub.members["embassy-bangkok"]
    token = await hub.fetch_token("embassy-bangkok")
    _, claims = await decode_access_token(hub, token["access_token"])
    assert set(token["scope"].split()) == set(embassy.scopes)
    assert set(claims["scope"].split()) == set(embassy.scopes)


async def test_a_client_asking_for_some_scopes_gets_exactly_those(hub: RunningHub) -> None:
    token = await hub.fetch_token("embassy-bangkok", scope="repatriation:write orgs:read")
    _, claims = await decode_access_token(hub, token["access_token"])
    assert claims["scope"] == "orgs:read repatriation:write"
    viewer = await hub.gql(None, "{ viewer { scopes } }", token=token["access_token"])
    assert viewer.data == {"viewer": {"scopes": ["orgs:read", "repatriation:write"]}}


@pytest.mark.parametrize(
    ("member", "scope"),
    [
        ("embassy-bangkok", "network:admin"),
        ("ccpcr-shelter", "repatriation:write"),
        # One scope too many spoils the request: it is refused, not trimmed.
        ("ccpcr-shelter", "cases:read repatriation:write"),
        ("secretariat", "pii:read"),
        ("adhoc", "cases:delete"),
    ],
)
async def test_a_scope_the_client_was_not_granted_is_refused(
    hub: RunningHub, member: str, scope: str
) -> None:
    before = await row_counts(hub)
    response = await ask_for_token(hub, basic(hub, member), scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "access_token" not in response.json()
    assert await row_counts(hub) == before
    with pytest.raises(OAuthError) as refused:
        await hub.fetch_token(member, scope=scope)
    assert refused.value.error == "invalid_scope"


# --- metadata and keys ---------------------------------------------------------------------


async def test_the_server_metadata_describes_the_endpoints(hub: RunningHub) -> None:
    response = await hub.http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    base = hub.base_url
    assert meta["issuer"] == base
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert meta["introspection_endpoint"] == f"{base}/oauth/introspect"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        meta["token_endpoint_auth_methods_supported"]
    )
    assert "none" not in meta["token_endpoint_auth_methods_supported"]
    assert "network:admin" in meta["scopes_supported"]


async def test_the_jwks_publishes_public_keys_only(hub: RunningHub) -> None:
    response = await hub.http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1
    for key in keys:
        assert (key["kty"], key["crv"]) == ("EC", "P-256")
        assert key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key)
    token = await hub.token("ngo-thailand")
    assert jwt.get_unverified_header(token)["kid"] == keys[0]["kid"]
