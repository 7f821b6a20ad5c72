"""The small doors of the authorization server: an assertion is used up wherever it is shown
(token, introspection, revocation: one store), and every OAuth endpoint is rate-limited per
address and per client, with 429 and Retry-After."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_oauth_private_key_jwt import (
    ASSERTION_TYPE,
    ec_key,
    register_keys,
    sign_assertion,
)
from tests.network import RunningHub, Template, serve_hub

ENDPOINTS = ("/oauth/token", "/oauth/introspect", "/oauth/revoke")


def assertion_form(path: str, assertion: str, token: str) -> dict[str, str]:
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    if path == "/oauth/token":
        return {"grant_type": "client_credentials", **form}
    return {"token": token, **form}


async def shelter_with_key(hub: RunningHub) -> str:
    """The shelter registers a key for its own client; one assertion signed with it."""
    key = ec_key("svay-rieng-1")
    registered = await register_keys(
        hub, "ccpcr-shelter", "ccpcr-shelter", {"keys": [key.as_dict(private=False)]}
    )
    assert registered.errors == [], registered.body
    return sign_assertion(hub, "ccpcr-shelter", key)


@pytest.mark.parametrize("first", ["/oauth/introspect", "/oauth/revoke"])
@pytest.mark.parametrize("then", ENDPOINTS)
async def test_an_assertion_shown_at_one_endpoint_is_refused_at_every_other(
    hub: RunningHub, first: str, then: str
) -> None:
    assertion = await shelter_with_key(hub)
    token = await hub.token("ccpcr-shelter")
    used = await hub.http.post(first, data=assertion_form(first, assertion, token))
    assert used.status_code == 200, used.text
    replayed = await hub.http.post(then, data=assertion_form(then, assertion, token))
    assert replayed.status_code == 401
    assert replayed.json() == {
        "error": "invalid_client",
        "error_description": "client authentication failed",
    }
    # The replay at /oauth/revoke revoked nothing; at /oauth/token issued nothing.
    assert (await hub.gql(None, "{ viewer { clientId } }", token=token)).status == (
        401 if first == "/oauth/revoke" else 200
    )
    assert await hub.scalar("SELECT COUNT(*) FROM revoked_tokens") == (
        1 if first == "/oauth/revoke" else 0
    )


async def test_an_assertion_used_for_a_token_is_refused_at_introspection(
    hub: RunningHub,
) -> None:
    assertion = await shelter_with_key(hub)
    issued = await hub.http.post("/oauth/token", data=assertion_form("/oauth/token", assertion, ""))
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    replay = await hub.http.post(
        "/oauth/introspect", data=assertion_form("/oauth/introspect", assertion, token)
    )
    assert replay.status_code == 401


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_every_oauth_endpoint_is_limited_per_address(template: Template, path: str) -> None:
    async with serve_hub(template, rate_limit_oauth="3/minute") as hub:
        m = hub.members["adhoc"]
        form = {"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "x"}
        answers = [
            await hub.http.post(path, data=form, auth=(m.client_id, f"guess-{n}")) for n in range(4)
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert int(answers[-1].headers["retry-after"]) >= 1
        assert answers[-1].json()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_every_oauth_endpoint_is_limited_per_client_whatever_the_address(
    template: Template, path: str
) -> None:
    async with serve_hub(template, rate_limit_oauth="3/minute") as hub:

        async def ask(member: str, address: str) -> httpx.Response:
            m = hub.members[member]
            form = {"grant_type": "client_credentials"} if path == "/oauth/token" else {}
            if path != "/oauth/token":
                form["token"] = "not-a-token"
            transport = httpx.AsyncHTTPTransport(local_address=address)
            async with httpx.AsyncClient(base_url=hub.base_url, transport=transport) as http:
                return await http.post(path, data=form, auth=(m.client_id, m.client_secret))

        # Three authenticated requests from three addresses use up the client's budget.
        for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            assert (await ask("adhoc", address)).status_code == 200
        refused = await ask("adhoc", "127.0.0.5")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # Another client from that fresh address is served.
        assert (await ask("ccpcr-shelter", "127.0.0.5")).status_code == 200
