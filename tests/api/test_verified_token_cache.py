"""A token's signature is checked once while it lives; everything stateful still every time.

The hub remembers tokens whose signature and claims it has checked (gateway/oauth/verified.py).
These tests use a token first, so that it is remembered, and then show that revocation, a
suspension, expiry and a forged signature on the same claims are refused exactly as for a
token never seen before.
"""

from __future__ import annotations

import asyncio
import time

from gateway.oauth.verify import TokenVerifier
from tests.api.test_token_checks import (
    SUSPEND,
    assert_token_accepted,
    assert_token_refused,
    b64url,
    hub_signed,
    real_token,
)
from tests.network import RunningHub


def verifier_of(hub: RunningHub) -> TokenVerifier:
    verifier = hub.app.state.hub.verifier
    assert isinstance(verifier, TokenVerifier)
    return verifier


async def test_a_remembered_token_is_refused_at_once_once_revoked(hub: RunningHub) -> None:
    # Given a shelter's token the hub has checked and remembered
    token, _ = await real_token(hub)
    await assert_token_accepted(hub, token, "ccpcr-shelter")
    await assert_token_accepted(hub, token, "ccpcr-shelter")
    assert verifier_of(hub).verified.get(token, verifier_of(hub)._keys) is not None
    # When the shelter revokes it
    shelter = hub.members["ccpcr-shelter"]
    response = await hub.http.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        auth=(shelter.client_id, shelter.client_secret),
    )
    assert response.status_code == 200, response.text
    # Then the very next request with it is refused
    await assert_token_refused(hub, token)


async def test_a_remembered_token_of_a_suspended_shelter_is_refused(hub: RunningHub) -> None:
    token, _ = await real_token(hub)
    await assert_token_accepted(hub, token, "ccpcr-shelter")
    shelter = hub.members["ccpcr-shelter"].organization_id
    suspended = await hub.gql("secretariat", SUSPEND, {"id": shelter, "reason": "audit pending"})
    assert suspended.errors == [], suspended.body
    await assert_token_refused(hub, token)


async def test_another_signature_on_a_remembered_tokens_claims_is_refused(
    hub: RunningHub,
) -> None:
    # Given a remembered token
    token, _ = await real_token(hub)
    await assert_token_accepted(hub, token, "ccpcr-shelter")
    header, payload, _ = token.split(".")
    # Then the same header and claims under a made-up signature are refused
    forged = f"{header}.{payload}.{b64url(bytes(64))}"
    await assert_token_refused(hub, forged)
    # And the real one still works
    await assert_token_accepted(hub, token, "ccpcr-shelter")


async def test_a_remembered_token_is_refused_as_expired_once_it_expires(hub: RunningHub) -> None:
    # Given a token that expires in two seconds, used (and remembered) while it is valid
    _, claims = await real_token(hub)
    expires = int(time.time()) + 2
    token = await hub_signed(hub, claims | {"exp": expires})
    await assert_token_accepted(hub, token, "ccpcr-shelter")
    # When its expiry and the verifier's 5 s leeway have passed
    await asyncio.sleep(max(0.0, expires + 5.5 - time.time()))
    # Then it is refused, and told it expired, as a token never seen before would be
    await assert_token_refused(hub, token, "expired")
    assert verifier_of(hub).verified.get(token, verifier_of(hub)._keys) is None
