"""The resource side refuses every token it should not trust, over plain HTTP.

Each forged token starts from the claims of a real one and changes exactly one thing,
so each refusal proves exactly one check of the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.oauth.keys import KeyRing
from tests.network import RunningHub

VIEWER = "{ viewer { clientId } }"
SUSPEND = """
mutation ($id: ID!, $reason: String!) {
  suspendOrganization(id: $id, reason: $reason) { id status }
}"""
REINSTATE = """
mutation ($id: ID!, $reason: String!) {
  reinstateOrganization(id: $id, reason: $reason) { id status }
}"""
DISABLE = "mutation ($c: String!) { disableClient(clientId: $c) { clientId enabled } }"
CHALLENGE = 'Bearer error="invalid_token", error_description="'
# What the challenge and the GraphQL error may say about each kind of refusal: enough to
# act on (send a token, fetch a new one), nothing about which check failed.
SAYS = {"missing": "no bearer access token", "expired": "expired", "invalid": "not valid"}


# --- crafting tokens ---------------------------------------------------------------------


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def by_hand(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    """A compact JWS assembled without a library, so any header at all can be sent."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return signing_input + "." + b64url(sign(signing_input.encode()))


async def real_token(hub: RunningHub, member: str = "ccpcr-shelter") -> tuple[str, dict[str, Any]]:
    """A token the hub issued, and its claims read without verification."""
    token = (await hub.fetch_token(member))["access_token"]
    return token, pyjwt.decode(token, options={"verify_signature": False})


async def hub_signed(hub: RunningHub, claims: dict[str, Any], **header: Any) -> str:
    """Claims signed with the hub's own current private key: only the claims can be wrong."""
    key = await KeyRing(hub.db, hub.settings).signing_key()
    protected = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid, **header}
    return jwt.encode(protected, claims, ECKey.import_key(key.private_jwk))


async def hub_kid(hub: RunningHub) -> str:
    return (await KeyRing(hub.db, hub.settings).signing_key()).kid


async def assert_refused(hub: RunningHub, headers: dict[str, str], kind: str = "missing") -> None:
    response = await hub.http.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(CHALLENGE) and challenge.endswith('"')
    description = challenge.removeprefix(CHALLENGE)[:-1]
    assert SAYS[kind] in description
    assert all(SAYS[other] not in description for other in SAYS if other != kind)
    # The body is a GraphQL response a federation gateway can pass on as it is.
    assert response.json() == {
        "errors": [{"message": description, "extensions": {"code": "UNAUTHENTICATED"}}]
    }
    assert response.headers["content-type"].startswith("application/json")


async def assert_token_refused(hub: RunningHub, token: str, kind: str = "invalid") -> None:
    await assert_refused(hub, {"Authorization": f"Bearer {token}"}, kind)


async def assert_token_accepted(hub: RunningHub, token: str, member: str) -> None:
    result = await hub.gql(None, VIEWER, token=token)
    assert result.status == 200, result.body
    assert result.data == {"viewer": {"clientId": hub.members[member].client_id}}


async def counts(hub: RunningHub) -> tuple[int, int, int]:
    return (
        await hub.scalar("SELECT count(*) FROM events"),
        await hub.scalar("SELECT count(*) FROM audit"),
        await hub.scalar("SELECT count(*) FROM organizations"),
    )


# --- the control: a re-signed, unchanged token is accepted --------------------------------


async def test_a_token_re_signed_unchanged_with_the_hubs_key_is_accepted(
    hub: RunningHub,
) -> None:
    # Given the claims of a real shelter token, re-signed by the hub's own key
    _, claims = await real_token(hub)
    # Then the hub accepts it: every refusal below comes from the one change it makes
    await assert_token_accepted(hub, await hub_signed(hub, claims), "ccpcr-shelter")


# --- what the Authorization header looks like ---------------------------------------------


async def test_a_request_without_a_token_is_refused(hub: RunningHub) -> None:
    await assert_refused(hub, {})


async def test_a_request_with_basic_credentials_instead_of_a_bearer_token_is_refused(
    hub: RunningHub,
) -> None:
    shelter = hub.members["ccpcr-shelter"]
    basic = base64.b64encode(f"{shelter.client_id}:{shelter.client_secret}".encode()).decode()
    await assert_refused(hub, {"Authorization": f"Basic {basic}"})


async def test_a_real_token_under_another_scheme_is_refused(hub: RunningHub) -> None:
    token, _ = await real_token(hub)
    await assert_refused(hub, {"Authorization": f"Token {token}"})


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "Bearer", "eyJhbGciOiJFUzI1NiJ9.."])
async def test_a_garbage_token_is_refused(hub: RunningHub, garbage: str) -> None:
    await assert_token_refused(hub, garbage)


# --- claims, with the hub's real signature ------------------------------------------------


async def test_an_expired_token_is_refused(hub: RunningHub) -> None:
    _, claims = await real_token(hub)
    expired = await hub_signed(hub, claims | {"exp": int(time.time()) - 60})
    await assert_token_refused(hub, expired, "expired")


async def test_a_token_for_the_authorization_server_instead_of_the_api_is_refused(
    hub: RunningHub,
) -> None:
    _, claims = await real_token(hub)
    assert claims["aud"] == hub.settings.audience
    await assert_token_refused(hub, await hub_signed(hub, claims | {"aud": hub.base_url}))


async def test_a_token_for_another_api_is_refused(hub: RunningHub) -> None:
    _, claims = await real_token(hub)
    other = claims | {"aud": "https://other-hub.example/graphql"}
    await assert_token_refused(hub, await hub_signed(hub, other))


async def test_a_token_from_another_issuer_is_refused(hub: RunningHub) -> None:
    _, claims = await real_token(hub)
    assert claims["iss"] == hub.settings.issuer
    other = claims | {"iss": "https://idp.example"}
    await assert_token_refused(hub, await hub_signed(hub, other))


async def test_a_plain_jwt_that_is_not_an_access_token_is_refused(hub: RunningHub) -> None:
    _, claims = await real_token(hub)
    await assert_token_refused(hub, await hub_signed(hub, claims, typ="JWT"))


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "jti"])
async def test_a_token_missing_a_required_claim_is_refused(hub: RunningHub, claim: str) -> None:
    _, claims = await real_token(hub)
    assert claim in claims
    del claims[claim]
    await assert_token_refused(hub, await hub_signed(hub, claims))


async def test_a_token_naming_another_organisation_than_its_clients_is_refused(
    hub: RunningHub,
) -> None:
    # Given a shelter token that claims to act for the ministry
    _, claims = await real_token(hub)
    mosavy = hub.members["mosavy"].organization_id
    await assert_token_refused(hub, await hub_signed(hub, claims | {"org": mosavy}))


# --- signatures ---------------------------------------------------------------------------


async def test_an_unsigned_token_is_refused(hub: RunningHub) -> None:
    _, claims = await real_token(hub)
    header = {"alg": "none", "typ": "at+jwt", "kid": await hub_kid(hub)}
    await assert_token_refused(hub, by_hand(header, claims, lambda _: b""))


async def test_an_hmac_token_keyed_with_the_hubs_public_key_is_refused(hub: RunningHub) -> None:
    # Given the classic algorithm confusion: HS256 with the published key as the secret
    _, claims = await real_token(hub)
    kid = await hub_kid(hub)
    jwks = (await hub.http.get("/.well-known/jwks.json")).json()
    public_jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    pem = ECKey.import_key(public_jwk).public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (pem, json.dumps(public_jwk).encode()):
        token = by_hand(
            {"alg": "HS256", "typ": "at+jwt", "kid": kid},
            claims,
            lambda data, secret=secret: hmac.new(secret, data, hashlib.sha256).digest(),
        )
        await assert_token_refused(hub, token)


async def test_a_token_signed_by_a_stranger_claiming_the_hubs_key_id_is_refused(
    hub: RunningHub,
) -> None:
    _, claims = await real_token(hub)
    kid = await hub_kid(hub)
    stranger = ECKey.generate_key("P-256", parameters={"kid": kid})
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, stranger)
    await assert_token_refused(hub, forged)


async def test_a_token_signed_with_a_key_the_hub_never_published_is_refused(
    hub: RunningHub,
) -> None:
    _, claims = await real_token(hub)
    stranger = ECKey.generate_key("P-256", parameters={"kid": "not-a-hub-key"})
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "not-a-hub-key"}, claims, stranger)
    await assert_token_refused(hub, forged)


# --- standing: suspension, disabled clients, revocation -----------------------------------


async def test_a_suspended_shelters_live_token_stops_working_for_good(
    hub: RunningHub,
) -> None:
    # Given a shelter holding a token that has not expired
    token, _ = await real_token(hub)
    await assert_token_accepted(hub, token, "ccpcr-shelter")
    shelter = hub.members["ccpcr-shelter"].organization_id
    # When the secretariat suspends the shelter
    suspended = await hub.gql("secretariat", SUSPEND, {"id": shelter, "reason": "audit pending"})
    assert suspended.errors == [], suspended.body
    assert suspended.data["suspendOrganization"]["status"] == "SUSPENDED"
    # Then the very same token is refused
    await assert_token_refused(hub, token)
    # And when the secretariat reinstates it, that token stays dead; a new one works
    reinstated = await hub.gql("secretariat", REINSTATE, {"id": shelter, "reason": "audit passed"})
    assert reinstated.errors == [], reinstated.body
    assert reinstated.data["reinstateOrganization"]["status"] == "ACTIVE"
    await assert_token_refused(hub, token)
    fresh = (await hub.fetch_token("ccpcr-shelter"))["access_token"]
    await assert_token_accepted(hub, fresh, "ccpcr-shelter")


async def test_a_disabled_clients_live_token_is_refused(hub: RunningHub) -> None:
    token, _ = await real_token(hub)
    await assert_token_accepted(hub, token, "ccpcr-shelter")
    client_id = hub.members["ccpcr-shelter"].client_id
    disabled = await hub.gql("secretariat", DISABLE, {"c": client_id})
    assert disabled.errors == [], disabled.body
    assert disabled.data["disableClient"] == {"clientId": client_id, "enabled": False}
    await assert_token_refused(hub, token)


async def test_a_revoked_token_is_refused_while_the_clients_other_tokens_still_work(
    hub: RunningHub,
) -> None:
    # Given a shelter holding two tokens
    revoked, _ = await real_token(hub)
    kept, _ = await real_token(hub)
    shelter = hub.members["ccpcr-shelter"]
    # When it revokes one of them
    response = await hub.http.post(
        "/oauth/revoke",
        data={"token": revoked, "token_type_hint": "access_token"},
        auth=(shelter.client_id, shelter.client_secret),
    )
    assert response.status_code == 200, response.text
    # Then that one is refused and the other still works
    await assert_token_refused(hub, revoked)
    await assert_token_accepted(hub, kept, "ccpcr-shelter")


# --- scopes on mutations ------------------------------------------------------------------


async def test_an_embassy_cannot_suspend_a_shelter_and_nothing_changes(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    before = await counts(hub)
    result = await hub.gql("embassy-bangkok", SUSPEND, {"id": shelter, "reason": "no reason"})
    assert result.status == 200
    assert result.data is None
    assert result.codes == ["FORBIDDEN"]
    assert await counts(hub) == before
    assert await hub.scalar("SELECT status FROM organizations WHERE id = :id", id=shelter) == (
        "ACTIVE"
    )


async def test_a_coordinator_token_asking_only_to_read_cannot_suspend(hub: RunningHub) -> None:
    # Given the secretariat fetched a token that asks for orgs:read only
    token = (await hub.fetch_token("secretariat", scope="orgs:read"))["access_token"]
    viewer = await hub.gql(None, "{ viewer { scopes } }", token=token)
    assert viewer.data == {"viewer": {"scopes": ["orgs:read"]}}
    shelter = hub.members["ccpcr-shelter"].organization_id
    before = await counts(hub)
    # When it tries to suspend the shelter with that token
    result = await hub.gql(None, SUSPEND, {"id": shelter, "reason": "audit"}, token=token)
    # Then it is forbidden and nothing changed
    assert result.data is None
    assert result.codes == ["FORBIDDEN"]
    assert await counts(hub) == before
    assert await hub.scalar("SELECT status FROM organizations WHERE id = :id", id=shelter) == (
        "ACTIVE"
    )
