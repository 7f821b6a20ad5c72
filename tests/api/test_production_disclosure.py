"""Production reveals nothing it need not: no suggestions that map the schema, the SDL only to
a federation gateway's scope, and logs that name the request, never what was asked."""

from __future__ import annotations

import logging

import pytest

import orgs.service
from gateway.settings import Environment
from tests.api.registration_support import issue_token, register
from tests.network import RunningHub, Template, serve_hub

MARKER = "Sok-Dara-012-345-678"


@pytest.mark.parametrize(
    "query",
    [
        "{ viewr { clientId } }",  # a root field
        "{ viewer { clientld } }",  # a nested field
        "{ organizations(statuss: ACTIVE) { id } }",  # an argument
        "{ organizations(status: ACTIV) { id } }",  # an enum value
    ],
)
async def test_production_suggests_nothing_for_a_typo(template: Template, query: str) -> None:
    async with serve_hub(template, env=Environment.PRODUCTION) as hub:
        result = await hub.gql("ngo-thailand", query)
    assert result.codes == ["BAD_USER_INPUT"], result.body
    assert "Did you mean" not in str(result.body)


async def test_development_still_suggests(hub: RunningHub) -> None:
    result = await hub.gql("ngo-thailand", "{ viewr { clientId } }")
    assert "Did you mean 'viewer'?" in result.errors[0]["message"]


async def test_the_sdl_is_only_for_clients_holding_federation_read(template: Template) -> None:
    async with serve_hub(template, env=Environment.PRODUCTION) as hub:
        member = await hub.gql("ngo-thailand", "{ _service { sdl } }")
        assert member.codes == ["FORBIDDEN"] and member.data is None, member.body
        # Aliases and fragments reach the same resolver.
        sneaky = await hub.gql("embassy-bangkok", "{ ... on Query { s: _service { sdl } } }")
        assert sneaky.codes == ["FORBIDDEN"] and "type Organization" not in str(sneaky.body)
        # The secretariat's client without the scope in its token is refused too.
        narrow = await hub.token("secretariat", scope="orgs:read")
        refused = await hub.gql(None, "{ _service { sdl } }", token=narrow)
        assert refused.codes == ["FORBIDDEN"]
        gateway = await hub.token("secretariat", scope="federation:read")
        served = await hub.gql(None, "{ _service { sdl } }", token=gateway)
    assert served.errors == [], served.body
    assert 'type Organization @key(fields: "id")' in served.data["_service"]["sdl"]


async def test_only_the_coordinator_kind_may_hold_federation_read(hub: RunningHub) -> None:
    # A destination NGO registering its own client cannot ask for the federation scope
    token = await issue_token(hub, "ngo-thailand")
    refused = await register(
        hub,
        token,
        {
            "client_name": "gw",
            "scope": "federation:read",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_client_metadata"
    # while the coordinator's own organisation may hold it
    created = await hub.gql(
        "secretariat",
        'mutation($org: ID!) { createClient(input: {organizationId: $org, name: "gw", '
        'scopes: ["federation:read"]}) { clientId } }',
        {"org": hub.members["secretariat"].organization_id},
    )
    assert created.errors == [], created.body


async def test_an_internal_error_logs_the_request_not_the_query_or_variables(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"cannot load {MARKER}")

    monkeypatch.setattr(orgs.service, "get_organization", broken)
    query = f"query WhoAmI($id: ID!) {{ organization(id: $id) {{ name }} }} # {MARKER}\n"
    with caplog.at_level(logging.DEBUG):
        response = await hub.http.post(
            "/graphql",
            json={"query": query, "variables": {"id": MARKER}, "operationName": "WhoAmI"},
            headers={"Authorization": f"Bearer {await hub.token('adhoc')}"},
        )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    request_id = body["errors"][0]["extensions"]["requestId"]
    logged = "\n".join(
        record.getMessage() + (record.exc_text or "") + str(record.exc_info or "")
        for record in caplog.records
    )
    assert MARKER not in logged
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    (line,) = (r.getMessage() for r in errors)
    assert request_id in line and "WhoAmI" in line
    assert "RuntimeError" in line and "at organization" in line
