"""What the operator sees: Prometheus metrics for the coordinator's token or an allowed
address only, with bounded labels and no survivor data; JSON log lines, one object each,
naming request, organisation, client, operation and duration, and never survivor data."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client.parser import text_string_to_metric_families

from gateway.logs import JsonFormatter
from tests.api.event_support import partner_socket, start, until
from tests.api.test_cases_flow import CREATE
from tests.network import RunningHub, Template, serve_hub

OPERATOR = "secretariat"
MARKER = "Srey-Planted-7781"
LIST = "query($first: Int!) { cases(first: $first) { edges { node { id } } } }"
SUBSCRIBE = "subscription { events { id type } }"


async def scrape(hub: RunningHub, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await hub.http.get("/metrics", headers=headers)
    return response.status_code, response.text


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_scrape_after_a_few_requests_shows_them_and_nothing_about_anyone(
    template: Template,
) -> None:
    async with serve_hub(template, rate_limit_graphql="8/minute", scheduler_interval=0.2) as hub:
        operator = await hub.token(OPERATOR, scope="metrics:read")
        case_id = (
            await hub.gql(
                "ccpcr-koh-kong",
                CREATE,
                {
                    "input": {
                        "ageBand": "AGE_18_20",
                        "sex": "FEMALE",
                        "survivor": {"fullName": MARKER},
                    }
                },
            )
        ).data["createCase"]["id"]
        for _ in range(2):
            assert not (await hub.gql("ccpcr-koh-kong", LIST, {"first": 5})).errors
        refused = await hub.gql("ccpcr-koh-kong", LIST, {"first": 0})
        assert refused.codes == ["BAD_USER_INPUT"]
        forbidden = await hub.gql(OPERATOR, LIST, {"first": 5})
        assert forbidden.codes == ["FORBIDDEN"]
        # A client-chosen operation name and an unknown field never become labels.
        named = f"query {MARKER.replace('-', '_')} {{ cases(first: 1) {{ edges {{ cursor }} }} }}"
        assert not (await hub.gql("ccpcr-koh-kong", named)).errors
        unknown = await hub.gql("ccpcr-koh-kong", f"{{ {MARKER.replace('-', '_')} }}")
        assert unknown.codes == ["BAD_USER_INPUT"]
        # Over its limit of 8 requests a minute, the transit centre is refused.
        over = [await hub.gql("ccpcr-koh-kong", LIST, {"first": 1}) for _ in range(3)]
        assert "RATE_LIMITED" in {code for result in over for code in result.codes}

        async with partner_socket(hub, "adhoc") as ws:
            await start(ws, "live", SUBSCRIBE)
            pump = hub.app.state.hub.pump
            await until(lambda: pump.subscriber_count == 1, "the subscription registers")
            status, text = await scrape(hub, operator)
            assert status == 200, text

        found = samples(text)
        requests = "hub_graphql_requests_total"
        assert value(found, requests, operation="cases", operation_type="query", outcome="OK") >= 3
        assert (
            value(
                found, requests, operation="cases", operation_type="query", outcome="BAD_USER_INPUT"
            )
            == 1
        )
        assert (
            value(found, requests, operation="cases", operation_type="query", outcome="FORBIDDEN")
            == 1
        )
        assert (
            value(
                found,
                requests,
                operation="invalid",
                operation_type="query",
                outcome="BAD_USER_INPUT",
            )
            == 1
        )
        assert (
            value(found, requests, operation="createCase", operation_type="mutation", outcome="OK")
            == 1
        )
        assert (
            value(
                found,
                "hub_graphql_request_duration_seconds_count",
                operation="cases",
                outcome="OK",
            )
            >= 3
        )
        assert value(found, "hub_open_subscriptions") == 1
        assert value(found, "hub_rate_limit_refusals_total", endpoint="graphql") >= 1
        assert value(found, "hub_scheduler_runs_total", outcome="done") >= 1
        assert ("hub_event_pump_lag_events", ()) in found
        assert ("hub_webhook_deliveries", (("status", "PENDING"),)) in found
        assert ("hub_webhook_failed_attempts", ()) in found

        # Labels are words from a short list: no ids, no names, nothing a client made up.
        for _, labels in found:
            for label, text_value in labels:
                assert re.fullmatch(r"[A-Za-z_,.+\-0-9]*", text_value), (label, text_value)
        for secret in (MARKER, MARKER.replace("-", "_"), case_id, hub.members["adhoc"].client_id):
            assert secret not in text


async def test_metrics_are_refused_without_the_scope_and_open_to_an_allowed_address(
    template: Template,
) -> None:
    async with serve_hub(template) as hub:
        assert (await scrape(hub))[0] == 401
        assert (await scrape(hub, "not-a-token"))[0] == 401
        # A member's token, even with every scope its client holds, is not enough,
        status, body = await scrape(hub, await hub.token("adhoc"))
        assert status == 403 and "hub_graphql" not in body
        # and no member's client can even ask for the scope.
        async with hub.oauth_client("adhoc", scope="metrics:read") as client:
            response = await client.post(
                hub.token_url,
                data={"grant_type": "client_credentials", "scope": "metrics:read"},
                auth=(hub.members["adhoc"].client_id, hub.members["adhoc"].client_secret),
            )
        assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
        # The coordinator's token without metrics:read is refused too.
        status, _ = await scrape(hub, await hub.token(OPERATOR, scope="orgs:read"))
        assert status == 403
        assert (await scrape(hub, await hub.token(OPERATOR, scope="metrics:read")))[0] == 200

    async with serve_hub(template, metrics_allow=("127.0.0.0/8",)) as hub:
        status, text = await scrape(hub)
        assert status == 200 and "hub_open_subscriptions" in text
    async with serve_hub(template, metrics_allow=("10.0.0.0/8",)) as hub:
        assert (await scrape(hub))[0] == 401


@contextmanager
def json_log() -> Iterator[io.StringIO]:
    """Every line the process logs at INFO and above while the block runs, as JSON."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_json_logs_name_the_request_and_never_the_survivor(template: Template) -> None:
    async with serve_hub(template) as hub:
        for member in ("ccpcr-koh-kong", "adhoc"):
            await hub.token(member)
        with json_log() as stream:
            created = await hub.gql(
                "ccpcr-koh-kong",
                CREATE,
                {
                    "input": {
                        "ageBand": "AGE_18_20",
                        "sex": "FEMALE",
                        "survivor": {"fullName": MARKER, "phone": "+855 12 7781 000"},
                        "note": f"found by {MARKER}",
                    }
                },
            )
            assert not created.errors, created.errors
            # Refusals that quote input: bad variables, a syntax error, a bad enum, a name.
            await hub.gql("ccpcr-koh-kong", CREATE, {"input": {"ageBand": MARKER}})
            await hub.gql("ccpcr-koh-kong", f'{{ case(id: "{MARKER}" {{ id }} }}')
            await hub.gql("ccpcr-koh-kong", f"query {MARKER.replace('-', '_')} {{ __typename }}")
            await hub.gql("adhoc", "query($id: ID!) { case(id: $id) { fullName } }", {"id": MARKER})
            await hub.http.post(
                "/graphql", json={"query": MARKER}, headers={"Authorization": f"Bearer {MARKER}"}
            )
            async with partner_socket(hub, "adhoc") as ws:
                await start(ws, "bad", f'subscription {{ events(after: "{MARKER}") {{ id }} }}')
                await asyncio.sleep(0.3)
            await asyncio.sleep(0.2)
        lines = stream.getvalue().splitlines()

    assert lines, "nothing was logged"
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in parsed:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
    assert not [line for line in lines if MARKER in line or "7781" in line]

    operations = [e for e in parsed if e["logger"] == "referral_hub.operations"]
    mutation = next(e for e in operations if e.get("operation") == "createCase")
    assert mutation["outcome"] == "OK" and mutation["operation_type"] == "mutation"
    assert mutation["organization"] == hub.members["ccpcr-koh-kong"].organization_id
    assert mutation["client"] == hub.members["ccpcr-koh-kong"].client_id
    assert re.fullmatch(r"[0-9a-f]{32}", mutation["request_id"])
    assert isinstance(mutation["duration_ms"], float) and mutation["duration_ms"] > 0
    assert {e["outcome"] for e in operations} >= {"OK", "BAD_USER_INPUT"}
