"""Input the schema's types let through but the hub cannot use is refused at the edge.

A naive date-time, a string that is not Unicode text, an ``_entities`` representation of the
wrong shape: each is the caller's mistake, so BAD_USER_INPUT with the rule broken (never the
value sent), not an INTERNAL from deep inside the hub.
"""

from __future__ import annotations

import json
from typing import Any

from store.errors import ErrorCode
from tests.api.event_support import partner_socket, receive, send
from tests.api.test_cases_flow import CONSENT, open_case
from tests.network import RunningHub, Template, serve_hub

MARKER = "Sreyneang-7f3a"
GRAPHQL_RESPONSE = "application/graphql-response+json"
ORG = "query($id: ID!) { organization(id: $id) { id name } }"
ENTITIES = (
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { id name } } }"
)


def consent(case_id: str, recipient: str, **changes: Any) -> dict[str, Any]:
    return {
        "input": {
            "caseId": case_id,
            "grantor": "SURVIVOR",
            "method": "VERBAL",
            "purposes": ["LEGAL_AID"],
            "categories": ["IDENTITY", "LEGAL"],
            "recipientOrganizationIds": [recipient],
            **changes,
        }
    }


async def grants(hub: RunningHub) -> int:
    return int(await hub.scalar("SELECT COUNT(*) FROM consent_grants"))


# --- date-times carry their offset ---------------------------------------------------------


async def test_a_consent_with_a_naive_validity_date_is_refused_as_bad_input(
    hub: RunningHub,
) -> None:
    # Given a shelter's case and legal aid as the recipient
    case_id = await open_case(hub)
    adhoc = hub.members["adhoc"].organization_id
    before = await grants(hub)
    # When the shelter sends validity dates without a UTC offset, as variables
    for dates in (
        {"validFrom": "2030-01-01T00:00:00"},
        {"validUntil": "2031-06-30T12:30:00"},
        {"validFrom": "2030-01-01"},
        {"validFrom": f"{MARKER}"},
    ):
        refused = await hub.gql("ccpcr-koh-kong", CONSENT, consent(case_id, adhoc, **dates))
        # Then each is refused as the caller's mistake, without quoting what was sent
        assert refused.codes == ["BAD_USER_INPUT"], refused.errors
        assert refused.data is None
        message = refused.errors[0]["message"]
        assert all(value not in message for value in dates.values())
    # and inline in the document too
    inline = (
        f'mutation {{ recordConsent(input: {{caseId: "{case_id}", grantor: SURVIVOR, '
        f"method: VERBAL, purposes: [LEGAL_AID], categories: [IDENTITY], "
        f'recipientOrganizationIds: ["{adhoc}"], validFrom: "2030-01-01T00:00:00"}}) {{ id }} }}'
    )
    refused = await hub.gql("ccpcr-koh-kong", inline)
    assert refused.codes == ["BAD_USER_INPUT"], refused.errors
    assert await grants(hub) == before
    # While the same dates with an offset are recorded
    accepted = await hub.gql(
        "ccpcr-koh-kong",
        CONSENT,
        consent(case_id, adhoc, validFrom="2030-01-01T07:00:00+07:00"),
    )
    assert not accepted.errors, accepted.errors
    assert await grants(hub) == before + 1


# --- strings are Unicode text ----------------------------------------------------------------


async def test_a_lone_surrogate_in_a_websocket_variable_is_bad_input(hub: RunningHub) -> None:
    # JSON over a websocket may carry "\udc00" escapes that HTTP bodies never get past.
    async with partner_socket(hub, "ccpcr-shelter") as ws:
        for n, (query, variables) in enumerate(
            (
                (ORG, {"id": MARKER + "\udc00"}),
                ("subscription($a: String) { events(after: $a) { id } }", {"a": "\ud800"}),
            )
        ):
            await send(
                ws,
                {
                    "id": f"s{n}",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables},
                },
            )
            answer = await answer_to(ws, f"s{n}")
            assert MARKER not in json.dumps(answer)
            errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
            assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], answer
        # The socket is still usable afterwards
        await send(
            ws,
            {
                "id": "ok",
                "type": "subscribe",
                "payload": {"query": "{ viewer { clientId } }"},
            },
        )
        answer = await answer_to(ws, "ok")
        assert answer["type"] == "next" and answer["payload"]["data"]["viewer"]["clientId"]


async def answer_to(ws: Any, operation: str) -> dict[str, Any]:
    """The first result or error for ``operation``, past completions of earlier ones."""
    while True:
        message = await receive(ws)
        if message.get("id") == operation and message["type"] in ("next", "error"):
            return message
        assert message["type"] == "complete", message


# --- federation representations ------------------------------------------------------------


async def test_entities_checks_each_representation_and_resolves_the_good_ones(
    hub: RunningHub,
) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    representations: list[Any] = [
        {"__typename": "Organization", "id": shelter},  # 0: good
        {},  # 1: no __typename
        [],  # 2: not an object
        True,  # 3
        1.5,  # 4
        "",  # 5
        {"__typename": MARKER, "id": shelter},  # 6: not an entity type here
        {"__typename": "Query", "id": shelter},  # 7: a type, not an entity
        {"__typename": "Organization"},  # 8: key missing
        {"__typename": "Organization", "id": None},  # 9: key null
        {"__typename": "Organization", "id": [shelter]},  # 10: key of the wrong type
        {"__typename": "Organization", "id": {"x": 1}},  # 11
        {"__typename": "Organization", "id": True},  # 12
        {"__typename": "Organization", "id": MARKER},  # 13: well-formed, unknown
        {"__typename": "Organization", "id": shelter, "name": MARKER},  # 14: extra field
    ]
    result = await hub.gql("secretariat", ENTITIES, {"r": representations})
    assert result.status == 200
    entities = result.data["_entities"]
    assert entities[0] == {"id": shelter, "name": entities[0]["name"]} and entities[0]["name"]
    assert entities[14]["id"] == shelter
    by_index = {e["path"][1]: e["extensions"]["code"] for e in result.errors}
    assert by_index == {
        **{i: ErrorCode.BAD_USER_INPUT.value for i in range(1, 13)},
        13: ErrorCode.NOT_FOUND.value,
    }
    assert all(entities[i] is None for i in range(1, 14))
    assert MARKER not in json.dumps(result.errors)


async def test_entities_still_needs_the_scope(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    token = await hub.token("ccpcr-shelter", "cases:read")
    result = await hub.gql(
        None, ENTITIES, {"r": [{"__typename": "Organization", "id": shelter}]}, token=token
    )
    assert result.codes == ["FORBIDDEN"]


# --- the response media type -----------------------------------------------------------------


async def post(hub: RunningHub, document: dict[str, Any], accept: str) -> Any:
    return await hub.http.post(
        "/graphql",
        json=document,
        headers={"Authorization": f"Bearer {await hub.token('secretariat')}", "Accept": accept},
    )


async def test_graphql_response_json_uses_status_codes_as_the_draft_says(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"].organization_id
    # A result: 200 in the asked-for media type
    ok = await post(hub, {"query": ORG, "variables": {"id": shelter}}, GRAPHQL_RESPONSE)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert ok.json()["data"]["organization"]["id"] == shelter
    # A field error once execution began: still 200, and data is there
    missing = await post(hub, {"query": ORG, "variables": {"id": "no-such"}}, GRAPHQL_RESPONSE)
    assert missing.status_code == 200
    assert missing.json()["data"] == {"organization": None}
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Variables that cannot be coerced: a request error, 400 without data
    bad = await post(hub, {"query": ORG, "variables": {"id": [MARKER]}}, GRAPHQL_RESPONSE)
    assert bad.status_code == 400 and "data" not in bad.json()
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert MARKER not in bad.text
    # The same under application/json (and */*, and q-values preferring it) stays 200 with data
    for accept in (
        "application/json",
        "*/*",
        f"application/json, {GRAPHQL_RESPONSE};q=0.5",
    ):
        legacy = await post(hub, {"query": ORG, "variables": {"id": [MARKER]}}, accept)
        assert legacy.status_code == 200, accept
        assert legacy.headers["content-type"].startswith("application/json")
        assert legacy.json()["data"] is None


# --- GET, when the operator allows it ------------------------------------------------------


async def test_get_runs_queries_only_when_turned_on(template: Template) -> None:
    async with serve_hub(template, graphql_get=True) as hub:
        auth = {
            "Authorization": f"Bearer {await hub.token('secretariat')}",
            "Accept": "application/json",
        }
        shelter = hub.members["ccpcr-shelter"].organization_id
        query = await hub.http.get(
            "/graphql",
            params={"query": ORG, "variables": json.dumps({"id": shelter})},
            headers=auth,
        )
        assert query.status_code == 200 and query.json()["data"]["organization"]["id"] == shelter

        events = await hub.scalar("SELECT COUNT(*) FROM events")
        mutation = await hub.http.get(
            "/graphql",
            params={
                "query": f'mutation {{ suspendOrganization(id: "{shelter}", reason: "x") {{ status }} }}'
            },
            headers=auth,
        )
        assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
        assert mutation.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
        assert await hub.scalar("SELECT COUNT(*) FROM events") == events

        subscription = await hub.http.get(
            "/graphql", params={"query": "subscription { events { id } }"}, headers=auth
        )
        assert subscription.status_code == 400
        assert subscription.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"

        for params in ({"query": ORG, "variables": "{"}, {"query": ORG, "extensions": "[]"}, {}):
            refused = await hub.http.get("/graphql", params=params, headers=auth)
            assert refused.status_code == 400, params
            assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

        put = await hub.http.put("/graphql", json={"query": ORG}, headers=auth)
        assert put.status_code == 405 and put.headers["allow"] == "GET, POST"


# --- cursors ---------------------------------------------------------------------------------


async def test_an_event_cursor_of_non_ascii_digits_is_bad_input(hub: RunningHub) -> None:
    # "²" passes str.isdigit() but not int(): it used to escape as an INTERNAL.
    for after in ("²", "٣", "1²", "-1", ""):
        result = await hub.gql(
            "secretariat",
            "query($a: String) { events(after: $a, first: 5) { endCursor } }",
            {"a": after},
        )
        assert result.codes == ["BAD_USER_INPUT"], (after, result.errors)
