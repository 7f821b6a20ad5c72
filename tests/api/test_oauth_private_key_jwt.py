"""Partners authenticate with a signed assertion instead of a secret (RFC 7523 private_key_jwt).

A member registers its own client's public keys; the client signs assertions with the
private half, using authlib's own client. Replays and foreign keys are refused.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import httpx
import jwt
import orjson
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.network import RunningHub

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TABLES = ("events", "audit", "organizations", "api_clients", "revoked_tokens", "used_assertions")

REGISTER_KEYS = """
mutation($clientId: String!, $jwks: JSON!) {
  registerClientKeys(clientId: $clientId, jwks: $jwks) { clientId tokenEndpointAuthMethods }
}
"""

CLIENT_METHODS = """
query($id: ID!) { organization(id: $id) { clients { clientId tokenEndpointAuthMethods } } }
"""


async def row_counts(hub: RunningHub) -> dict[str, int]:
    return {table: await hub.scalar(f"SELECT COUNT(*) FROM {table}") for table in TABLES}


def ec_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})


async def register_keys(hub: RunningHub, who: str, member: str, jwks: Any) -> Any:
    return await hub.gql(
        who, REGISTER_KEYS, {"clientId": hub.members[member].client_id, "jwks": jwks}
    )


async def auth_methods(hub: RunningHub, member: str) -> list[str]:
    result = await hub.gql(
        "secretariat", CLIENT_METHODS, {"id": hub.members[member].organization_id}
    )
    (client,) = result.data["organization"]["clients"]
    methods: list[str] = client["tokenEndpointAuthMethods"]
    return methods


async def post_assertion(hub: RunningHub, assertion: str) -> httpx.Response:
    return await hub.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def sign_assertion(hub: RunningHub, member: str, key: ECKey) -> str:
    signed = private_key_jwt_sign(key, hub.members[member].client_id, hub.token_url, alg="ES256")
    return signed.decode() if isinstance(signed, bytes) else str(signed)


@pytest.mark.parametrize("kind", ["EC key object", "RSA PEM"])
async def test_a_client_with_registered_keys_gets_a_token_with_a_signed_assertion(
    hub: RunningHub, kind: str
) -> None:
    shelter = hub.members["ccpcr-shelter"]
    secret: Any
    if kind == "EC key object":
        private: ECKey | RSAKey = ec_key("shelter-2026")
        secret, alg = private, "ES256"
    else:
        private = RSAKey.generate_key(2048, parameters={"kid": "shelter-rsa", "alg": "RS256"})
        secret, alg = private.as_pem(private=True), "RS256"
    # Given the shelter registered its client's public key
    registered = await register_keys(
        hub, "ccpcr-shelter", "ccpcr-shelter", {"keys": [private.as_dict(private=False)]}
    )
    assert registered.errors == []
    assert "private_key_jwt" in registered.data["registerClientKeys"]["tokenEndpointAuthMethods"]
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM audit WHERE action = 'client.register_keys' AND subject_id = :c",
            c=shelter.client_id,
        )
        == 1
    )
    sent: list[httpx.Request] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(request)

    # When the shelter's system asks for a token with authlib's private_key_jwt support
    async with AsyncOAuth2Client(
        shelter.client_id,
        secret,
        token_endpoint_auth_method="private_key_jwt",
        event_hooks={"request": [on_request]},
    ) as client:
        client.register_client_auth_method(PrivateKeyJWT(hub.token_url, alg=alg))
        token = await client.fetch_token(hub.token_url, grant_type="client_credentials")

    # Then it sent an assertion, no secret
    (request,) = sent
    assert "authorization" not in request.headers
    assert "client_assertion=" in request.content.decode()
    assert "client_secret" not in request.content.decode()
    # And it got a token for the shelter, and the assertion's id is remembered
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == shelter.client_id
    assert claims["org"] == shelter.organization_id
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM used_assertions WHERE client_id = :c", c=shelter.client_id
        )
        == 1
    )
    viewer = await hub.gql(None, "{ viewer { clientId } }", token=token["access_token"])
    assert viewer.data == {"viewer": {"clientId": shelter.client_id}}


async def test_a_replayed_assertion_is_refused(hub: RunningHub) -> None:
    # Given a shelter with a registered key, and one assertion it signed
    key = ec_key("koh-kong-1")
    registered = await register_keys(
        hub, "ccpcr-koh-kong", "ccpcr-koh-kong", {"keys": [key.as_dict(private=False)]}
    )
    assert registered.errors == []
    assertion = sign_assertion(hub, "ccpcr-koh-kong", key)
    # When the assertion is used once, it buys a token
    first = await post_assertion(hub, assertion)
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "Bearer"
    before = await row_counts(hub)
    # And when someone who captured it posts it again, it is refused
    second = await post_assertion(hub, assertion)
    assert second.status_code == 401
    assert second.json()["error"] == "invalid_client"
    assert "access_token" not in second.json()
    assert await row_counts(hub) == before
    # While a fresh assertion from the same key still works
    fresh = await post_assertion(hub, sign_assertion(hub, "ccpcr-koh-kong", key))
    assert fresh.status_code == 200


async def test_an_assertion_signed_by_an_unregistered_key_is_refused(hub: RunningHub) -> None:
    # Given the ministry registered one key
    registered_key = ec_key("mosavy-1")
    result = await register_keys(
        hub, "mosavy", "mosavy", {"keys": [registered_key.as_dict(private=False)]}
    )
    assert result.errors == []
    before = await row_counts(hub)
    # When an assertion arrives signed by another key, even one claiming the same kid
    impostor = ec_key("mosavy-1")
    response = await post_assertion(hub, sign_assertion(hub, "mosavy", impostor))
    # Then no token is issued and the assertion id is not remembered
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert await row_counts(hub) == before


async def test_a_client_without_registered_keys_cannot_use_an_assertion(hub: RunningHub) -> None:
    assert await auth_methods(hub, "adhoc") == ["client_secret_basic", "client_secret_post"]
    before = await row_counts(hub)
    response = await post_assertion(hub, sign_assertion(hub, "adhoc", ec_key("adhoc-1")))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert await row_counts(hub) == before


@pytest.mark.parametrize(
    "jwks",
    [
        pytest.param(
            {"keys": [ECKey.generate_key("P-256").as_dict(private=True)]}, id="EC private key"
        ),
        pytest.param(
            {"keys": [OctKey.generate_key(256).as_dict(private=True)]}, id="symmetric key"
        ),
        pytest.param({"keys": []}, id="no keys"),
        pytest.param({"kty": "EC"}, id="not a key set"),
    ],
)
async def test_a_member_cannot_register_private_or_symmetric_keys(
    hub: RunningHub, jwks: dict[str, Any]
) -> None:
    before = await row_counts(hub)
    result = await register_keys(hub, "ngo-thailand", "ngo-thailand", jwks)
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.data is None
    assert await row_counts(hub) == before
    assert "private_key_jwt" not in await auth_methods(hub, "ngo-thailand")


@pytest.mark.parametrize(
    ("who", "code"),
    [("secretariat", "FORBIDDEN"), ("embassy-bangkok", "NOT_FOUND"), ("mosavy", "NOT_FOUND")],
)
async def test_only_the_member_registers_its_client_keys(
    hub: RunningHub, who: str, code: str
) -> None:
    # Whoever sets a client's keys can act as it: not even the coordinator may.
    before = await row_counts(hub)
    public = {"keys": [ec_key("self-service").as_dict(private=False)]}
    result = await register_keys(hub, who, "ngo-malaysia", public)
    assert result.codes == [code]
    assert result.data is None
    assert await row_counts(hub) == before
    assert "private_key_jwt" not in await auth_methods(hub, "ngo-malaysia")
    # The member's own client may.
    own = await register_keys(hub, "ngo-malaysia", "ngo-malaysia", public)
    assert own.errors == [], own.body
    assert "private_key_jwt" in await auth_methods(hub, "ngo-malaysia")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def crafted(hub: RunningHub, member: str, key: ECKey, **changes: Any) -> str:
    """An assertion signed by ``key`` with claims changed (a value of None drops the claim)."""
    client_id = hub.members[member].client_id
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": hub.token_url,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return str(jose_jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key))


def unsigned(hub: RunningHub, member: str) -> str:
    client_id = hub.members[member].client_id
    header = _b64(orjson.dumps({"alg": "none"}))
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": hub.token_url,
        "exp": int(time.time()) + 60,
        "jti": uuid.uuid4().hex,
    }
    return f"{header}.{_b64(orjson.dumps(claims))}."


async def test_malformed_or_misdirected_assertions_are_refused(hub: RunningHub) -> None:
    # Given the Thai partner NGO has a registered key
    key = ec_key("ngo-th-1")
    result = await register_keys(
        hub, "ngo-thailand", "ngo-thailand", {"keys": [key.as_dict(private=False)]}
    )
    assert result.errors == []
    other = hub.members["ngo-malaysia"].client_id
    attempts = {
        "not a JWT": "not-a-jwt",
        "unsigned": unsigned(hub, "ngo-thailand"),
        "expired": crafted(hub, "ngo-thailand", key, exp=int(time.time()) - 120),
        "for another server": crafted(hub, "ngo-thailand", key, aud="https://elsewhere/token"),
        "issuer is not the subject": crafted(hub, "ngo-thailand", key, iss=other),
        "no JWT ID": crafted(hub, "ngo-thailand", key, jti=None),
        "a number as subject": crafted(hub, "ngo-thailand", key, sub=12345),
        "an unknown subject": crafted(hub, "ngo-thailand", key, sub="rh_unknown", iss="rh_unknown"),
    }
    before = await row_counts(hub)
    # When each of them is posted, then none buys a token and nothing is written
    for name, assertion in attempts.items():
        response = await post_assertion(hub, assertion)
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client"), name
    assert await row_counts(hub) == before
    # And the genuine article still works
    genuine = await post_assertion(hub, crafted(hub, "ngo-thailand", key))
    assert genuine.status_code == 200, genuine.text
