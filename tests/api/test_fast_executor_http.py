"""On the real schema, over real HTTP, the hub's fast executor answers the same bytes as
strawberry's plain executor: each operation is posted once with the hub's executor and once
with ``StrawberryGraphQLCoreExecutionContext`` swapped in, and the response bodies compared.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.executor import FlatMemoryExecutor
from schema.fast_completion import FAST_PATH
from tests.api.test_page_statements import refer_cases
from tests.network import RunningHub

INBOX = """
query { referrals(box: INBOX, first: 50) {
  edges { node { id status urgency sender { id name } receiver { id name } case { id status } } }
} }"""

ODD_SHAPES = """
query($yes: Boolean!, $no: Boolean!) {
  __typename
  mine: referrals(box: INBOX, first: 50) {
    __typename
    edges {
      cursor
      node {
        ...R
        also: id
        __typename
        sender { ...O }
        receiver { id t: __typename name @include(if: $no) kind @skip(if: $no) }
        case {
          id status ageBand sex languages needs createdAt
          withheld { field category reason }
          statusHistory @include(if: $yes) { __typename }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
fragment R on Referral {
  id status urgency services acknowledgeBy respondBy overdue createdAt updatedAt
  heldForConsent version withheld { field category reason }
  history { action fromStatus toStatus by at version }
}
fragment O on Organization { id name kind country areasServed status version createdAt }
"""

OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("adhoc", INBOX, {}),
    ("adhoc", ODD_SHAPES, {"yes": True, "no": False}),
    ("adhoc", ODD_SHAPES, {"yes": False, "no": True}),
    ("ccpcr-koh-kong", INBOX.replace("INBOX", "OUTBOX"), {}),
    (
        "adhoc",
        "query { organizations { id name kind country areasServed contactEmail website status"
        " version createdAt updatedAt } viewer { clientId scopes organization { id name } } }",
        {},
    ),
    (
        "adhoc",
        "query { services { id organizationId category description areasServed minAge maxAge"
        " sexes languages capacityStatus available maximum capacityUpdatedAt"
        " organization { id name } } }",
        {},
    ),
    (
        "ccpcr-koh-kong",
        "query { cases(first: 10) { edges { cursor node { id reference status ageBand sex"
        " createdAt statusHistory { __typename } } } pageInfo { hasNextPage } } }",
        {},
    ),
    # Refusals: the error answers are compared too.
    ("adhoc", 'query { referral(id: "00000000-0000-0000-0000-000000000000") { id } }', {}),
    ("adhoc", "query { cases(first: 0) { edges { node { id } } } }", {}),
]


def _schema(hub: RunningHub) -> Any:
    for route in hub.app.routes:
        if isinstance(route, Route) and route.path == "/graphql":
            return route.endpoint.schema
    raise AssertionError("no /graphql route")


async def _post(hub: RunningHub, who: str, query: str, variables: dict[str, Any]) -> bytes:
    response = await hub.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {await hub.token(who)}"},
    )
    return response.content


# Posts each query twice, once per executor: a cached second answer would compare nothing.
@pytest.mark.no_answer_cache
async def test_the_hub_answers_the_same_bytes_with_either_executor(hub: RunningHub) -> None:
    await refer_cases(hub, 3)
    schema = _schema(hub)
    assert schema.execution_context_class is FlatMemoryExecutor
    for who, query, variables in OPERATIONS:
        fast = await _post(hub, who, query, variables)
        schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
        try:
            standard = await _post(hub, who, query, variables)
        finally:
            schema.execution_context_class = FlatMemoryExecutor
        assert fast == standard, query
    answers = [await _post(hub, who, query, variables) for who, query, variables in OPERATIONS]
    assert b'"NOT_FOUND"' in answers[-2] and b'"BAD_USER_INPUT"' in answers[-1]
    assert answers[0].count(b'"status":"REFERRED"') == 3  # three cases in adhoc's inbox


async def test_the_inbox_takes_the_fast_path(hub: RunningHub) -> None:
    await refer_cases(hub, 3)
    before = FAST_PATH.objects
    answer = await _post(hub, "adhoc", INBOX, {})
    assert answer.count(b'"urgency":"URGENT"') == 3
    assert FAST_PATH.objects - before >= 3
