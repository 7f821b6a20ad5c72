"""Steps of onboarding by Dynamic Client Registration: the secretariat issues an initial
access token, the member registers its own client at /oauth/register with it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.network import RunningHub

ISSUE = """
mutation Issue($org: ID!, $hours: Int! = 24) {
  issueRegistrationToken(organizationId: $org, expiresInHours: $hours) {
    token tokenId organizationId expiresAt
  }
}
"""


async def issue_token(hub: RunningHub, member: str, hours: int = 24) -> str:
    """The secretariat issues an initial access token for ``member``."""
    org = hub.members[member].organization_id
    result = await hub.gql("secretariat", ISSUE, {"org": org, "hours": hours})
    assert result.errors == [], result.body
    token: str = result.data["issueRegistrationToken"]["token"]
    return token


async def register(hub: RunningHub, token: str | None, metadata: dict[str, Any]) -> httpx.Response:
    """POST the client metadata to /oauth/register with ``token`` as the bearer."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await hub.http.post("/oauth/register", json=metadata, headers=headers)


async def register_secret_client(
    hub: RunningHub, member: str, name: str, scopes: list[str]
) -> tuple[str, str]:
    """``member`` registers a client that authenticates with a secret: (id, secret)."""
    token = await issue_token(hub, member)
    response = await register(
        hub,
        token,
        {
            "client_name": name,
            "scope": " ".join(scopes),
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["client_id"], body["client_secret"]
