"""Whatever a partner's system sends to /graphql, it gets a GraphQL response it can read.

Each malformed request below is sent, with a valid coordinator token, to one running hub:
the answer is JSON with a documented ``extensions.code``, a 4xx status where the
GraphQL-over-HTTP draft puts one, never a 5xx, never the submitted values, and nothing
changes in the database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import exc as sa_exc
from starlette.routing import Route

from store.errors import ErrorCode
from tests.network import RunningHub, Template, serve_hub

pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Planted in submitted values: it must never come back in an answer.
MARKER = "Sreyneang-7f3a"
DOCUMENTED = {code.value for code in ErrorCode}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(template: Template) -> AsyncIterator[RunningHub]:
    async with serve_hub(template) as hub:
        yield hub


def suspend(hub: RunningHub) -> str:
    shelter = hub.members["ccpcr-shelter"].organization_id
    return f'mutation {{ suspendOrganization(id: "{shelter}", reason: "{MARKER}") {{ status }} }}'


def nested(depth: int) -> bytes:
    return b"[" * depth + b'"' + MARKER.encode() + b'"' + b"]" * depth


@dataclass
class Malformed:
    """One request and what the hub must answer. ``body`` may use ``{mutation}``."""

    name: str
    status: int
    code: str
    method: str = "POST"
    body: bytes | None = None
    content_type: str | None = JSON
    accept: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def body(**document: Any) -> bytes:
    return json.dumps(document).encode()


MUTATION = "{mutation}"
MALFORMED = [
    # Methods: only POST (GET is off by default), each 405 with Allow.
    *(
        Malformed(f"method {m}", 405, "METHOD_NOT_ALLOWED", method=m, headers={"allow": "POST"})
        for m in ("PUT", "DELETE", "PATCH", "OPTIONS")
    ),
    Malformed(
        "method PUT with a mutation",
        405,
        "METHOD_NOT_ALLOWED",
        method="PUT",
        body=body(query=MUTATION),
        headers={"allow": "POST"},
    ),
    Malformed(
        "GET while off",
        405,
        "METHOD_NOT_ALLOWED",
        method="GET",
        content_type=None,
        accept=JSON,
        headers={"allow": "POST"},
    ),
    # Media types: application/json in UTF-8 only.
    *(
        Malformed(
            f"content type {ct or 'missing'}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            body=body(query=MUTATION),
            content_type=ct,
        )
        for ct in (
            None,
            "text/plain",
            "text/html",
            "application/graphql",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "application/json; charset=latin-1",
            "application/json; charset=utf-16",
        )
    ),
    # Bodies that are not one JSON object.
    Malformed("empty body", 400, "BAD_REQUEST", body=b""),
    Malformed("whitespace body", 400, "BAD_REQUEST", body=b"  \n "),
    Malformed("truncated JSON", 400, "BAD_REQUEST", body=b'{"query": "{ __typename }"'),
    Malformed("not JSON", 400, "BAD_REQUEST", body=b"query { __typename }"),
    Malformed("trailing garbage", 400, "BAD_REQUEST", body=b'{"query": "{ __typename }"} x'),
    *(
        Malformed(f"body {raw.decode()}", 400, "BAD_REQUEST", body=raw)
        for raw in (b"null", b"1", b"1.5", b"-0", b'"' + MARKER.encode() + b'"', b"true", b"{}")
    ),
    Malformed("empty list", 400, "BAD_REQUEST", body=b"[]"),
    Malformed(
        "batched list",
        400,
        "BAD_REQUEST",
        body=json.dumps([{"query": MUTATION}, {"query": "{ __typename }"}]).encode(),
    ),
    Malformed(
        "latin-1 body",
        400,
        "BAD_REQUEST",
        body=f'{{"query": "{MUTATION}", "variables": {{"n": "Sreyneang caf\u00e9"}}}}'.encode(
            "latin-1"
        ),
    ),
    Malformed("invalid UTF-8", 400, "BAD_REQUEST", body=b'{"query": "\xff\xfe{ __typename }"}'),
    Malformed(
        "UTF-16 body",
        400,
        "BAD_REQUEST",
        body=body(query="{ __typename }").decode().encode("utf-16"),
    ),
    # Parameters of the wrong type.
    *(
        Malformed(f"query {raw}", 400, "BAD_REQUEST", body=b'{"query": ' + raw + b"}")
        for raw in (b"null", b"1", b"true", b'["{ __typename }"]', b'{"q": 1}')
    ),
    Malformed("query empty", 400, "BAD_REQUEST", body=body(query="")),
    *(
        Malformed(
            f"{name} {raw}",
            400,
            "BAD_REQUEST",
            body=b'{"query": "' + MUTATION.encode() + b'", "' + name.encode() + b'": ' + raw + b"}",
        )
        for name, raw in (
            ("variables", b'"{\\"a\\": 1}"'),
            ("variables", b"[1, 2]"),
            ("variables", b"7"),
            ("variables", b"true"),
            ("extensions", b'"x"'),
            ("extensions", b"[]"),
            ("operationName", b"1"),
            ("operationName", b"[]"),
            ("operationName", b"{}"),
            ("operationName", b"true"),
        )
    ),
    # Nested too deep: refused before anything recurses.
    Malformed(
        "variables 20,000 deep",
        400,
        "BAD_REQUEST",
        body=b'{"query": "'
        + MUTATION.encode()
        + b'", "variables": {"v": '
        + nested(20_000)
        + b"}}",
    ),
    Malformed(
        "variables 500 deep",
        400,
        "BAD_REQUEST",
        body=b'{"query": "' + MUTATION.encode() + b'", "variables": {"v": ' + nested(500) + b"}}",
    ),
    Malformed(
        "extensions 20,000 deep",
        400,
        "BAD_REQUEST",
        body=b'{"query": "'
        + MUTATION.encode()
        + b'", "extensions": {"v": '
        + nested(20_000)
        + b"}}",
    ),
    # Strings that are not Unicode text.
    Malformed(
        "lone surrogate in a variable",
        400,
        "BAD_USER_INPUT",
        body=b'{"query": "'
        + MUTATION.encode()
        + b'", "variables": {"n": "'
        + MARKER.encode()
        + b'\\udc00"}}',
    ),
    Malformed(
        "lone surrogate in a variable name",
        400,
        "BAD_USER_INPUT",
        body=b'{"query": "' + MUTATION.encode() + b'", "variables": {"\\ud800": 1}}',
    ),
    Malformed(
        "lone surrogate in operationName",
        400,
        "BAD_USER_INPUT",
        body=b'{"query": "' + MUTATION.encode() + b'", "operationName": "\\udfff"}',
    ),
    Malformed(
        "lone surrogate in the query",
        400,
        "BAD_USER_INPUT",
        body=b'{"query": "{ organization(id: \\"\\udc00\\") { id } }"}',
    ),
    # Operations HTTP does not run.
    Malformed(
        "subscription over POST",
        400,
        "OPERATION_NOT_ALLOWED",
        body=body(query="subscription { events { id } }"),
    ),
    Malformed(
        "subscription chosen by operationName",
        400,
        "OPERATION_NOT_ALLOWED",
        body=body(
            query="query Q { __typename } subscription S { events { id } }", operationName="S"
        ),
    ),
    # Well-formed HTTP, but no one operation to run: GraphQL request errors. 200 under
    # application/json (older clients expect it), 400 under graphql-response+json.
    *(
        Malformed(f"{what} ({accept})", status, "BAD_USER_INPUT", body=raw, accept=accept)
        for accept, status in ((JSON, 200), (GRAPHQL_RESPONSE, 400))
        for what, raw in (
            ("two anonymous operations", body(query=f"{MUTATION} {{ __typename }}")),
            ("unknown operationName", body(query="mutation M { __typename }", operationName="X")),
            (
                "two named, none chosen",
                body(query="query A { __typename } mutation B { __typename }"),
            ),
            ("syntax error", body(query="mutation { suspendOrganization(")),
            ("only a fragment", body(query="fragment F on Query { __typename }")),
            ("unknown field", body(query="{ survivorNames }")),
            (
                "variable of the wrong type",
                body(
                    query="query($id: ID!) { organization(id: $id) { id } }", variables={"id": []}
                ),
            ),
            ("missing variable", body(query="query($id: ID!) { organization(id: $id) { id } }")),
        )
    ),
]


async def counts(hub: RunningHub) -> tuple[int, int, str]:
    events = await hub.scalar("SELECT COUNT(*) FROM events")
    audit = await hub.scalar("SELECT COUNT(*) FROM audit")
    status = await hub.scalar(
        "SELECT status FROM organizations WHERE id = :id",
        id=hub.members["ccpcr-shelter"].organization_id,
    )
    return events, audit, status


def assert_graphql_error_response(response: Any, status: int, code: str) -> dict[str, Any]:
    """A JSON GraphQL response with a documented code, no INTERNAL and no planted value."""
    media = response.headers.get("content-type", "").split(";")[0]
    assert media in (JSON, GRAPHQL_RESPONSE), (response.status_code, response.text[:200])
    assert response.status_code == status, response.text[:300]
    document = response.json()
    assert isinstance(document, dict) and document["errors"], document
    codes = [error["extensions"]["code"] for error in document["errors"]]
    assert set(codes) <= DOCUMENTED and code in codes, codes
    assert all(isinstance(error["message"], str) for error in document["errors"])
    assert MARKER not in response.text
    assert "Traceback" not in response.text
    return dict(document)


@pytest.mark.parametrize("case", MALFORMED, ids=[case.name for case in MALFORMED])
async def test_a_malformed_request_gets_a_graphql_error_and_changes_nothing(
    running: RunningHub, case: Malformed
) -> None:
    hub = running
    before = await counts(hub)
    headers = {"Authorization": f"Bearer {await hub.token('secretariat')}"}
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    if case.accept is not None:
        headers["Accept"] = case.accept
    content = (
        case.body.replace(b"{mutation}", suspend(hub).encode().replace(b'"', b'\\"'))
        if case.body
        else case.body
    )
    response = await hub.http.request(case.method, "/graphql", content=content, headers=headers)
    document = assert_graphql_error_response(response, case.status, case.code)
    for name, value in case.headers.items():
        assert response.headers[name] == value
    if case.status != 200:
        assert "data" not in document
    assert await counts(hub) == before


async def test_the_mutation_used_above_does_run_when_well_formed(running: RunningHub) -> None:
    # The control: the same mutation, sent properly, changes the shelter's status.
    hub = running
    before = await counts(hub)
    result = await hub.gql("secretariat", suspend(hub))
    assert result.status == 200 and not result.errors, result.errors
    assert result.data["suspendOrganization"]["status"] == "SUSPENDED"
    after = await counts(hub)
    assert after[0] > before[0] and after[2] == "SUSPENDED"
    reinstate = await hub.gql(
        "secretariat",
        'mutation($id: ID!) { reinstateOrganization(id: $id, reason: "done") { status } }',
        {"id": hub.members["ccpcr-shelter"].organization_id},
    )
    assert not reinstate.errors, reinstate.errors


async def test_a_fault_outside_the_executor_is_a_masked_internal_error(
    template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve_hub(template) as hub:
        (view,) = [
            route.endpoint
            for route in hub.app.routes
            if isinstance(route, Route) and route.path == "/graphql"
        ]

        async def broken(request: Any) -> Any:
            raise RuntimeError(f"a bug that quotes {MARKER}")

        monkeypatch.setattr(view, "parse_http_body", broken)
        response = await hub.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {await hub.token('secretariat')}"},
        )
        document = assert_graphql_error_response(response, 500, "INTERNAL")
        assert document["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_database_outage_outside_the_executor_is_still_a_503(
    template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The view masks bugs as INTERNAL but leaves outages to the outage handler (UNAVAILABLE).
    async with serve_hub(template) as hub:
        (view,) = [
            route.endpoint
            for route in hub.app.routes
            if isinstance(route, Route) and route.path == "/graphql"
        ]

        async def pool_exhausted(request: Any) -> Any:
            raise sa_exc.TimeoutError("QueuePool limit reached")

        monkeypatch.setattr(view, "parse_http_body", pool_exhausted)
        response = await hub.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {await hub.token('secretariat')}"},
        )
        assert_graphql_error_response(response, 503, "UNAVAILABLE")
        assert int(response.headers["retry-after"]) >= 1
