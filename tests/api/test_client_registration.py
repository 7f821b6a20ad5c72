"""Onboarding keeps a member's keys with the member (RFC 7591 Dynamic Client Registration).

The secretariat issues a single-use, expiring initial access token for one organisation;
the member registers its own client with it at /oauth/register, with a secret only it
sees or with its public keys. Every step is audited and told to the member.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey
from sqlalchemy import text

from tests.api.registration_support import ISSUE, issue_token, register
from tests.network import RunningHub

TABLES = ("api_clients", "registration_tokens", "events", "audit")
SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }'


async def counts(hub: RunningHub) -> dict[str, int]:
    return {table: int(await hub.scalar(f"SELECT COUNT(*) FROM {table}")) for table in TABLES}


def secret_metadata(**changes: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "client_name": "Shelter case system",
        "scope": "orgs:read cases:read referrals:read",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    metadata.update(changes)
    return {k: v for k, v in metadata.items() if v is not None}


async def token_with_secret(hub: RunningHub, client_id: str, secret: str) -> dict[str, Any]:
    async with AsyncOAuth2Client(client_id, secret) as client:
        token: dict[str, Any] = await client.fetch_token(
            hub.token_url, grant_type="client_credentials"
        )
    return token


async def test_a_member_registers_its_own_client_with_a_secret_only_it_sees(
    hub: RunningHub,
) -> None:
    shelter = hub.members["ccpcr-shelter"]
    before = await counts(hub)

    # Given the secretariat issued an initial access token for the shelter
    issued = await hub.gql("secretariat", ISSUE, {"org": shelter.organization_id, "hours": 24})
    assert issued.errors == [], issued.body
    token = issued.data["issueRegistrationToken"]["token"]
    assert issued.data["issueRegistrationToken"]["organizationId"] == shelter.organization_id

    # When the shelter registers its client with it
    response = await register(hub, token, secret_metadata())

    # Then it receives its client id and secret, once
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    client_id, secret = body["client_id"], body["client_secret"]
    assert body["scope"] == "cases:read orgs:read referrals:read"
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["grant_types"] == ["client_credentials"]
    assert body["client_secret_expires_at"] == 0
    after = await counts(hub)
    assert {t: after[t] - before[t] for t in TABLES} == {
        "api_clients": 1,
        "registration_tokens": 1,
        "events": 2,
        "audit": 2,
    }
    # The hub keeps neither the secret nor the token in clear, anywhere.
    for table in ("api_clients", "registration_tokens", "events", "audit"):
        async with hub.db.read() as session:
            for row in (await session.execute(text(f"SELECT * FROM {table}"))).all():
                assert secret not in str(row) and token not in str(row), table
    # Each step is audited (the registration in the member's name) and told to the member.
    audit = await hub.scalar(
        "SELECT actor_organization_id FROM audit WHERE action = 'client.register' "
        "AND subject_id = :c",
        c=client_id,
    )
    assert audit == shelter.organization_id
    for event_type in ("REGISTRATION_TOKEN_ISSUED", "CLIENT_REGISTERED"):
        audience = await hub.scalar(
            "SELECT audience FROM events WHERE type = :t ORDER BY id DESC", t=event_type
        )
        assert shelter.organization_id in str(audience), event_type

    # And the client works, with exactly what it asked for
    granted = await token_with_secret(hub, client_id, secret)
    claims = jwt.decode(granted["access_token"], options={"verify_signature": False})
    assert (claims["client_id"], claims["org"]) == (client_id, shelter.organization_id)
    assert set(granted["scope"].split()) == {"orgs:read", "cases:read", "referrals:read"}

    # The token is single-use
    again = await register(hub, token, secret_metadata(client_name="second"))
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_token"
    assert (await counts(hub))["api_clients"] == after["api_clients"]


async def test_a_member_registers_a_client_with_its_public_keys_and_gets_no_secret(
    hub: RunningHub,
) -> None:
    embassy = hub.members["embassy-bangkok"]
    key = ECKey.generate_key("P-256", parameters={"kid": "bkk-1", "alg": "ES256"})
    token = await issue_token(hub, "embassy-bangkok")

    response = await register(
        hub,
        token,
        {
            "client_name": "Consular system",
            "scope": "repatriation:read repatriation:write",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert "client_secret" not in body
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    stored = await hub.scalar(
        "SELECT secret_hash FROM api_clients WHERE client_id = :c", c=body["client_id"]
    )
    assert stored is None
    async with AsyncOAuth2Client(
        body["client_id"], key, token_endpoint_auth_method="private_key_jwt"
    ) as client:
        client.register_client_auth_method(PrivateKeyJWT(hub.token_url, alg="ES256"))
        granted = await client.fetch_token(hub.token_url, grant_type="client_credentials")
    claims = jwt.decode(granted["access_token"], options={"verify_signature": False})
    assert claims["org"] == embassy.organization_id
    assert claims["scope"] == "repatriation:read repatriation:write"


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        (secret_metadata(scope="orgs:read network:admin"), "may not hold: network:admin"),
        (secret_metadata(scope="orgs:read cases:delete"), "scope"),
        (secret_metadata(scope=None), "scope is required"),
        (secret_metadata(grant_types=["authorization_code"]), "grant_types"),
        (secret_metadata(redirect_uris=["https://x.example/cb"]), "redirect_uris"),
        (secret_metadata(token_endpoint_auth_method="none"), "token_endpoint_auth_method"),
        (secret_metadata(token_endpoint_auth_method="private_key_jwt"), "jwks"),
        (
            secret_metadata(
                token_endpoint_auth_method="private_key_jwt",
                jwks={"keys": [ECKey.generate_key("P-256").as_dict(private=True)]},
            ),
            "private key material",
        ),
        (secret_metadata(jwks_uri="https://x.example/jwks"), "jwks_uri"),
    ],
    ids=[
        "above-ceiling",
        "unknown-scope",
        "no-scope",
        "grant-type",
        "redirects",
        "auth-none",
        "keys-missing",
        "private-key",
        "jwks-uri",
    ],
)
async def test_what_a_member_may_not_register_is_refused_and_the_token_survives(
    hub: RunningHub, metadata: dict[str, Any], words: str
) -> None:
    token = await issue_token(hub, "ccpcr-shelter")
    before = await counts(hub)

    response = await register(hub, token, metadata)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    assert words in response.json()["error_description"]
    assert await counts(hub) == before
    # A mistake does not burn the token.
    fixed = await register(hub, token, secret_metadata())
    assert fixed.status_code == 201, fixed.text


async def test_bad_tokens_get_one_answer(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"]
    expired = await issue_token(hub, "ccpcr-shelter")
    async with hub.db.write() as session:
        await session.execute(
            text(
                "UPDATE registration_tokens SET expires_at = created_at WHERE organization_id = :o"
            ),
            {"o": shelter.organization_id},
        )
    suspended = await issue_token(hub, "adhoc")
    result = await hub.gql("secretariat", SUSPEND, {"id": hub.members["adhoc"].organization_id})
    assert result.errors == [], result.body
    before = await counts(hub)

    answers = []
    for token in (
        None,
        "rhr_unknown",
        "Basic",
        expired,
        suspended,
        hub.members["adhoc"].client_secret,
    ):
        response = await register(hub, token, secret_metadata())
        answers.append((response.status_code, response.json()))

    assert {status for status, _ in answers} == {401}
    assert {body["error"] for _, body in answers} == {"invalid_token"}
    assert len({body["error_description"] for _, body in answers}) == 1
    assert await counts(hub) == before


async def test_a_token_registers_exactly_one_client_even_when_raced(hub: RunningHub) -> None:
    token = await issue_token(hub, "mosavy")
    before = await counts(hub)

    responses = await asyncio.gather(
        *(register(hub, token, secret_metadata(client_name=f"racer {n}")) for n in range(4))
    )

    assert sorted(r.status_code for r in responses) == [201, 401, 401, 401]
    after = await counts(hub)
    assert after["api_clients"] - before["api_clients"] == 1


@pytest.mark.parametrize(
    ("caller", "target", "hours", "code"),
    [
        ("ccpcr-shelter", "ccpcr-shelter", 24, "FORBIDDEN"),
        ("embassy-bangkok", "adhoc", 24, "FORBIDDEN"),
        ("secretariat", "00000000-0000-0000-0000-000000000000", 24, "NOT_FOUND"),
        ("secretariat", "adhoc", 0, "BAD_USER_INPUT"),
        ("secretariat", "adhoc", 24 * 8, "BAD_USER_INPUT"),
    ],
    ids=["member-self", "member-other", "unknown-org", "no-lifetime", "too-long"],
)
async def test_only_the_coordinator_issues_registration_tokens(
    hub: RunningHub, caller: str, target: str, hours: int, code: str
) -> None:
    org = hub.members[target].organization_id if target in hub.members else target
    before = await counts(hub)
    result = await hub.gql(caller, ISSUE, {"org": org, "hours": hours})
    assert result.codes == [code], result.body
    assert result.data is None
    assert await counts(hub) == before


async def test_a_revoked_member_gets_no_registration_token(hub: RunningHub) -> None:
    beijing = hub.members["embassy-beijing"].organization_id
    revoked = await hub.gql(
        "secretariat",
        'mutation($id: ID!) { revokeMembership(id: $id, reason: "left") { status } }',
        {"id": beijing},
    )
    assert revoked.errors == [], revoked.body
    before = await counts(hub)
    result = await hub.gql("secretariat", ISSUE, {"org": beijing, "hours": 24})
    assert result.codes == ["INVALID_TRANSITION"], result.body
    assert await counts(hub) == before


async def test_the_metadata_document_names_the_registration_endpoint(hub: RunningHub) -> None:
    meta = (await hub.http.get("/.well-known/oauth-authorization-server")).json()
    assert meta["registration_endpoint"] == f"{hub.base_url}/oauth/register"
    assert "clients:manage" in meta["scopes_supported"]


async def test_registration_wants_json(hub: RunningHub) -> None:
    token = await issue_token(hub, "ccpcr-shelter")
    form = await hub.http.post(
        "/oauth/register", data={"scope": "orgs:read"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert form.status_code == 400
    broken = await hub.http.post(
        "/oauth/register",
        content=b"{not json",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert (await register(hub, token, secret_metadata())).status_code == 201
