"""The hub refuses abusive or malformed requests before anything runs.

Limits on depth, aliases and tokens, body size, batching, GET queries, introspection and the
IDE outside development, and the masking of unexpected errors.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import strawberry
from strawberry.federation import Schema

from gateway.settings import Environment
from schema.errors import ErrorCodes
from tests.network import RunningHub, Template, serve_hub

TABLES = ("events", "audit", "organizations", "membership_changes")


async def counts(hub: RunningHub) -> dict[str, int]:
    return {t: await hub.scalar(f"SELECT COUNT(*) FROM {t}") for t in TABLES}


async def shelter_status(hub: RunningHub) -> str:
    status: str = await hub.scalar(
        "SELECT status FROM organizations WHERE id = :id",
        id=hub.members["ccpcr-shelter"].organization_id,
    )
    return status


def suspend_shelter(hub: RunningHub, alias: str = "", selection: str = "id") -> str:
    shelter = hub.members["ccpcr-shelter"].organization_id
    return (
        f'{alias}suspendOrganization(id: "{shelter}", reason: "testing limits") {{ {selection} }}'
    )


async def bearer(hub: RunningHub, who: str = "secretariat") -> dict[str, str]:
    return {"Authorization": f"Bearer {await hub.token(who)}"}


# --- depth, aliases, tokens -------------------------------------------------------------


async def test_a_query_deeper_than_the_limit_is_refused(template: Template) -> None:
    async with serve_hub(template, max_query_depth=2) as hub:
        deep = await hub.gql("secretariat", "{ viewer { organization { history { reason } } } }")
        assert deep.status == 200
        assert deep.data is None
        assert deep.codes == ["BAD_USER_INPUT"]
        assert "depth" in deep.errors[0]["message"]

        at_limit = await hub.gql("secretariat", "{ viewer { organization { name } } }")
        assert at_limit.errors == []
        assert at_limit.data["viewer"]["organization"]["name"] == "Network Coordination Secretariat"


async def test_a_too_deep_mutation_changes_nothing(template: Template) -> None:
    async with serve_hub(template, max_query_depth=1) as hub:
        before = await counts(hub)
        result = await hub.gql(
            "secretariat", f"mutation {{ {suspend_shelter(hub, selection='history { reason }')} }}"
        )
        assert result.data is None
        assert result.codes == ["BAD_USER_INPUT"]
        assert await counts(hub) == before
        assert await shelter_status(hub) == "ACTIVE"


async def test_the_default_limits_are_those_documented(hub: RunningHub) -> None:
    assert hub.settings.max_query_depth == 12
    assert hub.settings.max_aliases == 30
    assert hub.settings.max_tokens == 2000
    assert hub.settings.max_body_bytes == 262_144


async def test_more_than_thirty_aliases_are_refused_and_nothing_runs(hub: RunningHub) -> None:
    before = await counts(hub)
    fields = " ".join(suspend_shelter(hub, alias=f"s{i}: ") for i in range(31))
    result = await hub.gql("secretariat", f"mutation {{ {fields} }}")
    assert result.data is None
    assert result.codes == ["BAD_USER_INPUT"]
    assert "aliases" in result.errors[0]["message"]
    assert await counts(hub) == before
    assert await shelter_status(hub) == "ACTIVE"

    thirty = " ".join(f"a{i}: __typename" for i in range(30))
    allowed = await hub.gql("secretariat", f"{{ {thirty} }}")
    assert allowed.errors == []
    assert allowed.data["a29"] == "Query"


async def test_a_document_of_more_than_2000_tokens_is_refused_and_nothing_runs(
    hub: RunningHub,
) -> None:
    before = await counts(hub)
    result = await hub.gql(
        "secretariat", f"mutation {{ {suspend_shelter(hub, selection='id ' * 2100)} }}"
    )
    assert result.status == 200
    assert result.data is None
    assert result.codes == ["BAD_USER_INPUT"]
    assert "tokens" in result.errors[0]["message"]
    assert await counts(hub) == before
    assert await shelter_status(hub) == "ACTIVE"


async def test_a_syntax_error_is_bad_user_input(hub: RunningHub) -> None:
    result = await hub.gql("secretariat", "{ viewer { ")
    assert result.data is None
    assert result.codes == ["BAD_USER_INPUT"]


async def test_an_unknown_field_is_bad_user_input(hub: RunningHub) -> None:
    result = await hub.gql("secretariat", "{ viewer { clientId survivorNames } }")
    assert result.data is None
    assert result.codes == ["BAD_USER_INPUT"]


# --- the HTTP envelope --------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_with_413(hub: RunningHub) -> None:
    before = await counts(hub)
    padding = " " * (hub.settings.max_body_bytes + 1)
    body = json.dumps({"query": f"mutation {{ {suspend_shelter(hub)} }}{padding}"}).encode()
    response = await hub.http.post(
        "/graphql",
        content=body,
        headers={**await bearer(hub), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["PAYLOAD_TOO_LARGE"]
    assert "data" not in response.json()
    assert await counts(hub) == before


async def test_a_chunked_body_over_the_limit_is_refused_with_413(hub: RunningHub) -> None:
    before = await counts(hub)
    head = json.dumps({"query": f"mutation {{ {suspend_shelter(hub)} }}"})[:-2].encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield head
        for _ in range(30):
            yield b" " * 10_000
        yield b'"}'

    response = await hub.http.post(
        "/graphql",
        content=chunks(),
        headers={**await bearer(hub), "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert await counts(hub) == before


async def test_malformed_json_is_refused_with_400(hub: RunningHub) -> None:
    response = await hub.http.post(
        "/graphql",
        content=b'{"query": "{ viewer { clientId } }"',
        headers={**await bearer(hub), "Content-Type": "application/json"},
    )
    assert response.status_code == 400


async def test_a_batch_is_refused_with_400_and_nothing_runs(hub: RunningHub) -> None:
    before = await counts(hub)
    response = await hub.http.post(
        "/graphql",
        json=[{"query": f"mutation {{ {suspend_shelter(hub)} }}"}, {"query": "{ __typename }"}],
        headers=await bearer(hub),
    )
    assert response.status_code == 400
    assert await counts(hub) == before
    assert await shelter_status(hub) == "ACTIVE"


async def test_queries_over_get_are_refused_even_with_a_valid_token(hub: RunningHub) -> None:
    response = await hub.http.get(
        "/graphql", params={"query": "{ viewer { clientId } }"}, headers=await bearer(hub)
    )
    assert 400 <= response.status_code < 500
    assert "clientId" not in response.text

    before = await counts(hub)
    mutation = await hub.http.get(
        "/graphql",
        params={"query": f"mutation {{ {suspend_shelter(hub)} }}"},
        headers=await bearer(hub),
    )
    assert 400 <= mutation.status_code < 500
    assert await counts(hub) == before


# --- development conveniences stay in development ------------------------------------------

INTROSPECTION = "{ __schema { types { name } } }"


async def test_introspection_works_in_development(hub: RunningHub) -> None:
    result = await hub.gql("ccpcr-shelter", INTROSPECTION)
    assert result.errors == []
    names = {t["name"] for t in result.data["__schema"]["types"]}
    assert {"Organization", "Viewer", "MembershipStatus"} <= names


async def test_the_explorer_page_is_served_in_development_without_internet(
    hub: RunningHub,
) -> None:
    response = await hub.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Referral Hub explorer" in response.text
    # Everything it needs is in the page: no URL to any other place, and a policy that
    # forbids loading anything from elsewhere.
    assert re.findall(r"(?:https?:)?//[\w.-]+", response.text) == []
    assert not re.search(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=", response.text)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy


async def test_production_refuses_introspection_and_serves_no_ide(template: Template) -> None:
    async with serve_hub(template, env=Environment.PRODUCTION) as hub:
        refused = await hub.gql("ccpcr-shelter", INTROSPECTION)
        assert refused.data is None
        assert refused.codes and set(refused.codes) == {"BAD_USER_INPUT"}
        assert "introspection" in refused.errors[0]["message"].lower()

        typename = await hub.gql("ccpcr-shelter", "{ __typename viewer { clientId } }")
        assert typename.errors == []
        assert typename.data["viewer"]["clientId"] == hub.members["ccpcr-shelter"].client_id

        ide = await hub.http.get("/graphql", headers={"Accept": "text/html"})
        assert not ide.headers.get("content-type", "").startswith("text/html")
        assert "graphiql" not in ide.text.lower() and "explorer" not in ide.text.lower()
        assert ide.status_code == 401


# --- request ids ---------------------------------------------------------------------------


async def test_every_response_carries_a_request_id(hub: RunningHub) -> None:
    auth = await bearer(hub)
    responses = [
        await hub.http.get("/healthz"),
        await hub.http.post("/graphql", json={"query": "{ __typename }"}, headers=auth),
        await hub.http.post("/graphql", json={"query": "{ __typename }"}),
        await hub.http.post("/graphql", content=b"{", headers=auth),
        await hub.http.post(
            "/graphql", content=b" " * (hub.settings.max_body_bytes + 1), headers=auth
        ),
        await hub.http.get("/graphql", params={"query": "{ __typename }"}, headers=auth),
        await hub.http.get("/.well-known/jwks.json"),
        await hub.http.post("/oauth/token", data={"grant_type": "client_credentials"}),
        await hub.http.get("/no-such-page"),
    ]
    # No Content-Type: 415; GET while HUB_GRAPHQL_GET is off: 405.
    assert [r.status_code for r in responses] == [200, 200, 401, 415, 413, 405, 200, 401, 404]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)


# --- unexpected errors are masked ----------------------------------------------------------


@dataclass
class FakeContext:
    request_id: str


@strawberry.type
class BrokenQuery:
    @strawberry.field
    def report(self) -> str:
        raise RuntimeError("secret detail")


async def test_an_unexpected_error_is_masked_and_quotes_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    schema = Schema(query=BrokenQuery, extensions=[ErrorCodes])
    with caplog.at_level(logging.ERROR, logger="referral_hub.errors"):
        result = await schema.execute("{ report }", context_value=FakeContext("req-4711"))

    assert result.errors is not None and len(result.errors) == 1
    shown = result.errors[0].formatted
    assert "secret detail" not in json.dumps(shown)
    assert "RuntimeError" not in json.dumps(shown)
    assert shown["extensions"] == {"code": "INTERNAL", "requestId": "req-4711"}
    assert "req-4711" in shown["message"]

    logged = [r for r in caplog.records if r.name == "referral_hub.errors"]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert "req-4711" in logged[0].getMessage()
    # The type and where it happened, never the message (it may quote survivor data).
    assert "RuntimeError" in logged[0].getMessage() and "at report" in logged[0].getMessage()
    assert logged[0].exc_info is None and "secret detail" not in logged[0].getMessage()
