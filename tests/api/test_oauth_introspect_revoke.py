"""Partners introspect (RFC 7662) and revoke (RFC 7009) access tokens.

A client sees and revokes its own tokens only; the coordinator may introspect any token.
"""

from __future__ import annotations

import httpx
import jwt

from tests.network import RunningHub

TABLES = ("events", "audit", "organizations", "api_clients", "revoked_tokens", "used_assertions")


async def row_counts(hub: RunningHub) -> dict[str, int]:
    return {table: await hub.scalar(f"SELECT COUNT(*) FROM {table}") for table in TABLES}


def credentials(hub: RunningHub, member: str) -> tuple[str, str]:
    m = hub.members[member]
    return (m.client_id, m.client_secret)


async def introspect(hub: RunningHub, who: str | None, token: str) -> httpx.Response:
    auth = credentials(hub, who) if who else None
    return await hub.http.post(
        "/oauth/introspect", data={"token": token}, auth=auth or httpx.USE_CLIENT_DEFAULT
    )


async def revoke(hub: RunningHub, who: str, token: str) -> httpx.Response:
    return await hub.http.post("/oauth/revoke", data={"token": token}, auth=credentials(hub, who))


async def viewer_status(hub: RunningHub, token: str) -> int:
    return (await hub.gql(None, "{ viewer { clientId } }", token=token)).status


# --- introspection ---------------------------------------------------------------------


async def test_a_client_introspects_its_own_token(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"]
    token = await hub.token("ccpcr-shelter")
    claims = jwt.decode(token, options={"verify_signature": False})
    response = await introspect(hub, "ccpcr-shelter", token)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == shelter.client_id
    assert body["org"] == shelter.organization_id
    assert body["scope"] == " ".join(sorted(shelter.scopes))
    assert body["exp"] == claims["exp"]
    assert body["jti"] == claims["jti"]
    assert body["token_type"] == "Bearer"


async def test_another_organisations_token_looks_inactive(hub: RunningHub) -> None:
    # An embassy learns nothing about a shelter's token, not even that it is live.
    shelter_token = await hub.token("ccpcr-shelter")
    response = await introspect(hub, "embassy-bangkok", shelter_token)
    assert response.status_code == 200
    assert response.json() == {"active": False}
    assert await viewer_status(hub, shelter_token) == 200


async def test_the_coordinator_may_introspect_any_token(hub: RunningHub) -> None:
    embassy = hub.members["embassy-kuala-lumpur"]
    token = await hub.token("embassy-kuala-lumpur")
    response = await introspect(hub, "secretariat", token)
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["client_id"] == embassy.client_id
    assert body["org"] == embassy.organization_id


async def test_garbage_introspects_inactive(hub: RunningHub) -> None:
    for garbage in ("not-a-token", "eyJhbGciOiJub25lIn0.e30.", "a" * 500):
        response = await introspect(hub, "secretariat", garbage)
        assert response.status_code == 200
        assert response.json() == {"active": False}


async def test_introspection_needs_client_authentication(hub: RunningHub) -> None:
    token = await hub.token("adhoc")
    anonymous = await introspect(hub, None, token)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    adhoc = hub.members["adhoc"]
    wrong = await hub.http.post(
        "/oauth/introspect", data={"token": token}, auth=(adhoc.client_id, "rhs_wrong")
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert "active" not in wrong.json()


async def test_a_suspended_organisations_token_introspects_inactive(hub: RunningHub) -> None:
    embassy = hub.members["embassy-beijing"]
    token = await hub.token("embassy-beijing")
    suspended = await hub.gql(
        "secretariat",
        'mutation($id: ID!) { suspendOrganization(id: $id, reason: "review") { status } }',
        {"id": embassy.organization_id},
    )
    assert suspended.data == {"suspendOrganization": {"status": "SUSPENDED"}}
    response = await introspect(hub, "secretariat", token)
    assert response.json() == {"active": False}


# --- revocation -------------------------------------------------------------------------


async def test_a_client_revokes_its_own_token(hub: RunningHub) -> None:
    # Given the Svay Rieng centre holds a working token
    centre = hub.members["ccpcr-svay-rieng"]
    token = await hub.token("ccpcr-svay-rieng")
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert await viewer_status(hub, token) == 200
    before = await row_counts(hub)
    # When it revokes the token
    response = await revoke(hub, "ccpcr-svay-rieng", token)
    # Then the hub confirms, and the token no longer opens the API
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert await viewer_status(hub, token) == 401
    assert (await introspect(hub, "ccpcr-svay-rieng", token)).json() == {"active": False}
    # And the revocation is recorded: one revoked token, one event, one audit row
    after = await row_counts(hub)
    assert after == before | {
        "revoked_tokens": before["revoked_tokens"] + 1,
        "events": before["events"] + 1,
        "audit": before["audit"] + 1,
    }
    assert (
        await hub.scalar(
            "SELECT actor_client_id FROM audit WHERE action = 'token.revoke' AND subject_id = :jti",
            jti=jti,
        )
        == centre.client_id
    )
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM events WHERE type = 'TOKEN_REVOKED' AND subject_id = :c",
            c=centre.client_id,
        )
        == 1
    )
    # And the centre's other tokens keep working
    fresh = (await hub.fetch_token("ccpcr-svay-rieng"))["access_token"]
    assert await viewer_status(hub, fresh) == 200


async def test_revoking_twice_is_recorded_once(hub: RunningHub) -> None:
    token = await hub.token("mosavy")
    assert (await revoke(hub, "mosavy", token)).status_code == 200
    before = await row_counts(hub)
    again = await revoke(hub, "mosavy", token)
    assert again.status_code == 200
    assert await row_counts(hub) == before


async def test_revoking_an_unknown_token_changes_nothing(hub: RunningHub) -> None:
    # RFC 7009: an invalid token is not an error, and there is nothing to revoke.
    before = await row_counts(hub)
    response = await revoke(hub, "ngo-thailand", "not-a-token")
    assert response.status_code == 200
    assert await row_counts(hub) == before


async def test_a_client_cannot_revoke_another_clients_token(hub: RunningHub) -> None:
    # Given a shelter's working token, seen by an embassy
    shelter_token = await hub.token("ccpcr-shelter")
    before = await row_counts(hub)
    # When the embassy (or even the coordinator) tries to revoke it
    for who in ("embassy-bangkok", "secretariat"):
        response = await revoke(hub, who, shelter_token)
        # Then it is refused, nothing is recorded, and the token keeps working
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
    assert await row_counts(hub) == before
    assert await viewer_status(hub, shelter_token) == 200
    assert (await introspect(hub, "ccpcr-shelter", shelter_token)).json()["active"] is True


async def test_revocation_needs_client_authentication(hub: RunningHub) -> None:
    token = await hub.token("adhoc")
    before = await row_counts(hub)
    response = await hub.http.post("/oauth/revoke", data={"token": token})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert await row_counts(hub) == before
    assert await viewer_status(hub, token) == 200
