"""The hub rotates its token-signing key without breaking tokens already issued.

A new key is published first and signs only after the publish lead; the old key stays
published until every token it signed has expired.
"""

from __future__ import annotations

from datetime import timedelta

import jwt

from gateway.oauth.keys import rotate_signing_key
from gateway.oauth.models import SigningKey
from store.types import utcnow
from tests.network import RunningHub, Template, serve_hub


async def published_kids(hub: RunningHub) -> list[str]:
    response = await hub.http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert all("d" not in key for key in keys)
    return [key["kid"] for key in keys]


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


async def viewer_status(hub: RunningHub, token: str) -> int:
    return (await hub.gql(None, "{ viewer { clientId } }", token=token)).status


async def fresh_token(hub: RunningHub, member: str) -> str:
    token: str = (await hub.fetch_token(member))["access_token"]
    return token


async def test_after_rotation_old_and_new_tokens_both_work(hub: RunningHub) -> None:
    # Given a shelter holds a token signed with the hub's only key
    old_token = await fresh_token(hub, "ccpcr-shelter")
    old_kid = kid_of(old_token)
    assert await published_kids(hub) == [old_kid]
    # When the operator rotates the signing key (no publish lead in tests)
    new_key = await rotate_signing_key(hub.db, hub.settings)
    await hub.app.state.hub.keyring.refresh(force=True)
    # Then both keys are published
    assert new_key.kid != old_kid
    assert await published_kids(hub) == [old_kid, new_key.kid]
    # And the token signed before the rotation still opens the API
    assert await viewer_status(hub, old_token) == 200
    # And a new token is signed with the new key and works too
    new_token = await fresh_token(hub, "ccpcr-shelter")
    assert kid_of(new_token) == new_key.kid
    assert await viewer_status(hub, new_token) == 200
    # And the new token verifies against the published JWKS with PyJWT
    jwks = (await hub.http.get("/.well-known/jwks.json")).json()
    claims = jwt.decode(
        new_token,
        jwt.PyJWKSet.from_dict(jwks)[new_key.kid],
        algorithms=["ES256"],
        audience=f"{hub.base_url}/graphql",
        issuer=hub.base_url,
    )
    assert claims["client_id"] == hub.members["ccpcr-shelter"].client_id


async def test_the_old_key_stays_published_until_its_tokens_expire(hub: RunningHub) -> None:
    old_kid = kid_of(await fresh_token(hub, "adhoc"))
    before = utcnow()
    new_key = await rotate_signing_key(hub.db, hub.settings)
    assert await hub.scalar("SELECT COUNT(*) FROM signing_keys") == 2
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM signing_keys WHERE kid = :k AND published_until IS NULL",
            k=new_key.kid,
        )
        == 1
    )
    async with hub.db.read() as session:
        old = await session.get(SigningKey, old_kid)
    assert old is not None and old.published_until is not None
    # The old key outlives the last token it could sign (900 s) plus clock skew.
    assert old.published_until >= before + timedelta(seconds=900)
    assert old.published_until <= utcnow() + timedelta(seconds=900 + 120)


async def test_a_second_rotation_keeps_every_key_that_signed_live_tokens(
    hub: RunningHub,
) -> None:
    first_token = await fresh_token(hub, "mosavy")
    second = await rotate_signing_key(hub.db, hub.settings)
    await hub.app.state.hub.keyring.refresh(force=True)
    second_token = await fresh_token(hub, "mosavy")
    third = await rotate_signing_key(hub.db, hub.settings)
    await hub.app.state.hub.keyring.refresh(force=True)
    third_token = await fresh_token(hub, "mosavy")
    assert [kid_of(t) for t in (second_token, third_token)] == [second.kid, third.kid]
    assert await published_kids(hub) == [kid_of(first_token), second.kid, third.kid]
    for token in (first_token, second_token, third_token):
        assert await viewer_status(hub, token) == 200


async def test_with_a_publish_lead_the_new_key_is_published_before_it_signs(
    template: Template,
) -> None:
    async with serve_hub(template, key_publish_lead=300) as hub:
        # Given a hub that publishes new keys five minutes before signing with them
        old_token = await fresh_token(hub, "ngo-malaysia")
        old_kid = kid_of(old_token)
        # When the operator rotates the key
        new_key = await rotate_signing_key(hub.db, hub.settings)
        await hub.app.state.hub.keyring.refresh(force=True)
        # Then the new key is published at once, so caches can learn it
        response = await hub.http.get("/.well-known/jwks.json")
        assert [key["kid"] for key in response.json()["keys"]] == [old_kid, new_key.kid]
        assert response.headers["cache-control"] == "public, max-age=150"
        # But tokens are still signed with the old key, and they work
        token = await fresh_token(hub, "ngo-malaysia")
        assert kid_of(token) == old_kid
        assert kid_of(token) != new_key.kid
        assert await viewer_status(hub, token) == 200
        assert await viewer_status(hub, old_token) == 200
        assert new_key.signs_from >= utcnow() + timedelta(seconds=290)


async def test_a_rotation_is_recorded_in_the_outbox_and_the_audit_trail(hub: RunningHub) -> None:
    from gateway.oauth.keys import rotate_signing_key

    events = await hub.scalar("SELECT COUNT(*) FROM events WHERE type = 'SIGNING_KEY_ROTATED'")
    audits = await hub.scalar("SELECT COUNT(*) FROM audit WHERE action = 'signing_key.rotate'")
    key = await rotate_signing_key(hub.db, hub.settings)
    assert (
        await hub.scalar(
            "SELECT COUNT(*) FROM events WHERE type = 'SIGNING_KEY_ROTATED' AND subject_id = :kid",
            kid=key.kid,
        )
        == events + 1
    )
    assert (
        await hub.scalar("SELECT COUNT(*) FROM audit WHERE action = 'signing_key.rotate'")
        == audits + 1
    )
