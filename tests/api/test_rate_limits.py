"""A partner system stuck in a loop is slowed down, not the whole hub."""

from __future__ import annotations

from tests.network import Template, serve_hub

VIEWER = "{ viewer { clientId } }"


async def test_a_client_over_its_graphql_limit_gets_rate_limited_and_others_do_not(
    template: Template,
) -> None:
    async with serve_hub(template, rate_limit_graphql="3/minute") as hub:
        for _ in range(3):
            assert not (await hub.gql("adhoc", VIEWER)).errors
        before = await hub.scalar("SELECT COUNT(*) FROM events")
        refused = await hub.gql(
            "adhoc", 'mutation { suspendOrganization(id: "x", reason: "r") { id } }'
        )
        assert refused.status == 429 and refused.codes == ["RATE_LIMITED"]
        response = await hub.http.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {await hub.token('adhoc')}"},
        )
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
        # Behind a federation gateway the header is lost; the wait travels in the body too.
        (error,) = response.json()["errors"]
        assert error["extensions"] == {
            "code": "RATE_LIMITED",
            "retryAfter": int(response.headers["retry-after"]),
        }
        assert await hub.scalar("SELECT COUNT(*) FROM events") == before
        other = await hub.gql("ccpcr-shelter", VIEWER)
        assert other.status == 200 and not other.errors


async def test_the_token_endpoint_slows_down_credential_guessing(template: Template) -> None:
    async with serve_hub(template, rate_limit_oauth="5/minute") as hub:
        client_id = hub.members["adhoc"].client_id
        answers = [
            (
                await hub.http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client_id, f"guess-{n}"),
                )
            ).status_code
            for n in range(7)
        ]
        assert answers[:5] == [401] * 5 and answers[5:] == [429, 429]
