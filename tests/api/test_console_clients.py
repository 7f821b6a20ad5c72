"""An organisation's admin registers, rotates and revokes API clients and manages
webhooks in the console, with the API's own rules; everyone else is refused."""

from __future__ import annotations

import html
import json
import re

import httpx

from orgs.staff_rules import StaffRole
from tests.api.console_support import Account, csrf_of, enrol, signed_in
from tests.network import RunningHub

XSS_NAME = "<script>alert(1)</script> client"
XSS_URL = 'http://127.0.0.1:9/hook?a="><img src=x onerror=alert(1)>'


def _shown(page: str, element: str) -> str:
    found = re.search(rf'id="{element}">([^<]+)<', page)
    assert found, f"no {element} on the page"
    return html.unescape(found.group(1))


async def _registration_token(hub: RunningHub, member: str) -> str:
    """The coordinator issues a token on the member's page (shown once)."""
    coordinator = await enrol(hub, "secretariat", StaffRole.COORDINATOR, f"c-{member}@sec.example")
    org = hub.members[member].organization_id
    async with signed_in(hub, coordinator) as client:
        page = await client.get(f"/console/members/{org}")
        issued = await client.post(
            f"/console/members/{org}/registration-token", data={"csrf": csrf_of(page.text)}
        )
        assert issued.status_code == 200, issued.text
        token = _shown(issued.text, "registration-token")
        again = await client.get(f"/console/members/{org}")
        assert token not in again.text
    return token


async def _post(client: httpx.AsyncClient, path: str, form: dict[str, object]) -> httpx.Response:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return await client.post(path, data={"csrf": csrf_of(page.text), **form})  # type: ignore[arg-type]


async def _token_works(hub: RunningHub, client_id: str, secret: str) -> bool:
    answer = await hub.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return answer.status_code == 200


async def _admin(hub: RunningHub, member: str, email: str) -> Account:
    return await enrol(hub, member, StaffRole.ORG_ADMIN, email)


async def test_an_admin_registers_a_client_sees_its_secret_once_rotates_and_revokes_it(
    hub: RunningHub,
) -> None:
    token = await _registration_token(hub, "adhoc")
    admin = await _admin(hub, "adhoc", "admin@adhoc.example")
    async with signed_in(hub, admin) as client:
        made = await _post(
            client,
            "/console/clients",
            {
                "action": "register",
                "registration_token": token,
                "name": XSS_NAME,
                "scopes": ["orgs:read", "referrals:read"],
            },
        )
        assert made.status_code == 200, made.text
        client_id = _shown(made.text, "client-id")
        secret = _shown(made.text, "client-secret")
        assert await _token_works(hub, client_id, secret)
        # The name is kept as typed and shown as text, never as markup.
        assert "&lt;script&gt;alert(1)&lt;/script&gt; client" in made.text
        assert "<script>alert(1)" not in made.text
        listed = await client.get("/console/clients")
        assert client_id in listed.text and secret not in listed.text

        # The token worked once.
        again = await _post(
            client,
            "/console/clients",
            {
                "action": "register",
                "registration_token": token,
                "name": "x2",
                "scopes": "orgs:read",
            },
        )
        assert again.status_code == 400 and 'data-code="BAD_USER_INPUT"' in again.text

        rotated = await _post(
            client, "/console/clients", {"action": "rotate", "client_id": client_id}
        )
        new_secret = _shown(rotated.text, "client-secret")
        assert new_secret != secret
        assert not await _token_works(hub, client_id, secret)
        assert await _token_works(hub, client_id, new_secret)

        revoked = await _post(
            client, "/console/clients", {"action": "revoke", "client_id": client_id}
        )
        assert revoked.status_code == 200
        row = re.search(rf'<tr data-client="{client_id}">.*?</tr>', revoked.text, re.S)
        assert row and "Revoked" in row.group(0)
        assert not await _token_works(hub, client_id, new_secret)
        assert new_secret not in revoked.text


async def test_a_client_beyond_the_ceiling_or_with_another_members_token_is_refused(
    hub: RunningHub,
) -> None:
    token = await _registration_token(hub, "adhoc")
    shelter_admin = await _admin(hub, "ccpcr-shelter", "admin@shelter.example")
    async with signed_in(hub, shelter_admin) as client:
        foreign = await _post(
            client,
            "/console/clients",
            {
                "action": "register",
                "registration_token": token,
                "name": "mine",
                "scopes": "orgs:read",
            },
        )
        assert foreign.status_code == 400
    admin = await _admin(hub, "adhoc", "admin2@adhoc.example")
    async with signed_in(hub, admin) as client:
        above = await _post(
            client,
            "/console/clients",
            {
                "action": "register",
                "registration_token": token,
                "name": "x",
                "scopes": "network:admin",
            },
        )
        assert above.status_code == 400
        # Neither refusal used the token up: the member registers with it now.
        ok = await _post(
            client,
            "/console/clients",
            {
                "action": "register",
                "registration_token": token,
                "name": "ok",
                "scopes": "orgs:read",
            },
        )
        assert ok.status_code == 200 and _shown(ok.text, "client-secret")


async def test_another_members_admin_cannot_rotate_or_revoke_a_client(hub: RunningHub) -> None:
    adhoc_client = hub.members["adhoc"].client_id
    admin = await _admin(hub, "ccpcr-shelter", "admin@shelter.example")
    async with signed_in(hub, admin) as client:
        listed = await client.get("/console/clients")
        assert adhoc_client not in listed.text
        for action in ("rotate", "revoke"):
            refused = await _post(
                client, "/console/clients", {"action": action, "client_id": adhoc_client}
            )
            assert refused.status_code == 404, action
    assert await hub.scalar(
        "SELECT enabled FROM api_clients WHERE client_id = :c", c=adhoc_client
    ) in (True, 1)
    assert await _token_works(hub, adhoc_client, hub.members["adhoc"].client_secret)


async def test_a_caseworker_viewer_or_coordinator_cannot_reach_the_admin_pages(
    hub: RunningHub,
) -> None:
    adhoc_client = hub.members["adhoc"].client_id
    for member, role in (
        ("adhoc", StaffRole.CASEWORKER),
        ("adhoc", StaffRole.VIEWER),
        ("secretariat", StaffRole.COORDINATOR),
    ):
        person = await enrol(hub, member, role, f"{role.value.lower()}@{member}.example")
        async with signed_in(hub, person) as client:
            for path in ("/console/clients", "/console/webhooks"):
                page = await client.get(path)
                assert page.status_code == 403, (role, path)
                assert 'data-code="FORBIDDEN"' in page.text
            home = await client.get("/console/referrals")
            csrf = csrf_of(home.text)
            revoke = await client.post(
                "/console/clients",
                data={"csrf": csrf, "action": "revoke", "client_id": adhoc_client},
            )
            assert revoke.status_code in (403, 404), role
            add = await client.post(
                "/console/webhooks",
                data={"csrf": csrf, "action": "add", "url": "https://x.example", "topics": "CASE"},
            )
            assert add.status_code == 403, role
            assert 'href="/console/clients"' not in home.text
    assert await hub.scalar("SELECT count(*) FROM webhooks") == 0
    assert await _token_works(hub, adhoc_client, hub.members["adhoc"].client_secret)


async def test_an_admin_adds_and_deletes_a_webhook_and_sees_its_secret_once(
    hub: RunningHub,
) -> None:
    admin = await _admin(hub, "adhoc", "admin@adhoc.example")
    async with signed_in(hub, admin) as client:
        home = await client.get("/console/referrals")
        assert 'href="/console/webhooks"' in home.text and 'href="/console/clients"' in home.text
        made = await _post(
            client,
            "/console/webhooks",
            {"action": "add", "url": XSS_URL, "topics": ["CASE", "REFERRAL"]},
        )
        assert made.status_code == 200, made.text
        secret = _shown(made.text, "signing-secret")
        assert secret.startswith("whsec_")
        assert "<img src=x" not in made.text and "&lt;img src=x onerror=alert(1)&gt;" in made.text
        listed = await client.get("/console/webhooks")
        assert secret not in listed.text
        webhook_id = re.search(r'<tr data-webhook="([^"]+)">', listed.text)
        assert webhook_id

        bad = await _post(
            client, "/console/webhooks", {"action": "add", "url": "ftp://x", "topics": "CASE"}
        )
        assert bad.status_code == 400
        no_topic = await _post(
            client, "/console/webhooks", {"action": "add", "url": "https://a.example"}
        )
        assert no_topic.status_code == 400
        assert await hub.scalar("SELECT count(*) FROM webhooks") == 1

    other = await _admin(hub, "ccpcr-shelter", "admin@shelter.example")
    async with signed_in(hub, other) as client:
        theirs = await client.get("/console/webhooks")
        assert webhook_id.group(1) not in theirs.text
        refused = await _post(
            client, "/console/webhooks", {"action": "delete", "webhook_id": webhook_id.group(1)}
        )
        assert refused.status_code == 404
    assert await hub.scalar("SELECT count(*) FROM webhooks") == 1

    async with signed_in(hub, admin) as client:
        gone = await _post(
            client, "/console/webhooks", {"action": "delete", "webhook_id": webhook_id.group(1)}
        )
        assert gone.status_code == 200 and webhook_id.group(1) not in gone.text
    assert await hub.scalar("SELECT count(*) FROM webhooks") == 0


async def test_admin_forms_refuse_a_missing_csrf_token(hub: RunningHub) -> None:
    admin = await _admin(hub, "adhoc", "admin@adhoc.example")
    async with signed_in(hub, admin) as client:
        for path, form in (
            ("/console/webhooks", {"action": "add", "url": "https://a.example", "topics": "CASE"}),
            ("/console/clients", {"action": "revoke", "client_id": hub.members["adhoc"].client_id}),
        ):
            refused = await client.post(path, data={**form, "csrf": "forged"})
            assert refused.status_code == 403 and 'data-code="CSRF"' in refused.text
    assert await hub.scalar("SELECT count(*) FROM webhooks") == 0
    assert await _token_works(
        hub, hub.members["adhoc"].client_id, hub.members["adhoc"].client_secret
    )


async def _webhook(client: httpx.AsyncClient) -> tuple[str, str]:
    made = await _post(
        client,
        "/console/webhooks",
        {"action": "add", "url": "http://127.0.0.1:9/first", "topics": ["CASE"]},
    )
    assert made.status_code == 200, made.text
    found = re.search(r'<tr data-webhook="([^"]+)">', made.text)
    assert found
    return found.group(1), _shown(made.text, "signing-secret")


async def test_an_admin_edits_a_webhook_and_rotates_its_secret_shown_once(
    hub: RunningHub,
) -> None:
    admin = await _admin(hub, "adhoc", "hooks@adhoc.example")
    async with signed_in(hub, admin) as client:
        webhook_id, first = await _webhook(client)
        sealed = await hub.scalar("SELECT secret_sealed FROM webhooks")
        edited = await _post(
            client,
            "/console/webhooks",
            {
                "action": "edit",
                "webhook_id": webhook_id,
                "url": XSS_URL,
                "topics": ["REFERRAL", "REPATRIATION"],
            },
        )
        assert edited.status_code == 200, edited.text
        assert (
            "<img src=x" not in edited.text and "&lt;img src=x onerror=alert(1)&gt;" in edited.text
        )
        assert str(await hub.scalar("SELECT url FROM webhooks")).startswith(
            "http://127.0.0.1:9/hook"
        )
        topics = await hub.scalar("SELECT topics FROM webhooks")
        assert (json.loads(topics) if isinstance(topics, str) else topics) == [
            "REFERRAL",
            "REPATRIATION",
        ]
        assert 'id="signing-secret"' not in edited.text  # an edit shows no secret
        rotated = await _post(
            client, "/console/webhooks", {"action": "rotate", "webhook_id": webhook_id}
        )
        assert rotated.status_code == 200
        second = _shown(rotated.text, "signing-secret")
        assert second.startswith("whsec_") and second != first
        assert await hub.scalar("SELECT secret_sealed FROM webhooks") != sealed
        again = await client.get("/console/webhooks")
        assert second not in again.text and first not in again.text
        paused = await _post(
            client, "/console/webhooks", {"action": "disable", "webhook_id": webhook_id}
        )
        assert paused.status_code == 200 and "Resume deliveries" in paused.text
        assert not await hub.scalar("SELECT enabled FROM webhooks")
        twice = await _post(
            client, "/console/webhooks", {"action": "disable", "webhook_id": webhook_id}
        )
        assert twice.status_code == 409
        resumed = await _post(
            client, "/console/webhooks", {"action": "enable", "webhook_id": webhook_id}
        )
        assert resumed.status_code == 200 and await hub.scalar("SELECT enabled FROM webhooks")


async def test_webhook_edits_are_refused_as_the_api_refuses_them(hub: RunningHub) -> None:
    admin = await _admin(hub, "adhoc", "hooks2@adhoc.example")
    async with signed_in(hub, admin) as client:
        webhook_id, _ = await _webhook(client)
        before = await hub.scalar("SELECT url || ' ' || secret_sealed FROM webhooks")
        for form, status in (
            ({"action": "edit", "url": "ftp://x", "topics": "CASE"}, 400),
            ({"action": "edit", "url": "http://127.0.0.1:9/x"}, 400),  # no topic
            ({"action": "edit", "url": "http://127.0.0.1:9/x", "topics": "NOPE"}, 400),
            ({"action": "edit", "url": "x" * 2001, "topics": "CASE"}, 400),
            ({"action": "rotate", "webhook_id": "no-such-webhook"}, 404),
        ):
            form.setdefault("webhook_id", webhook_id)
            refused = await _post(client, "/console/webhooks", form)
            assert refused.status_code == status, (form, refused.status_code)
            assert 'id="signing-secret"' not in refused.text
        forged = await client.post(
            "/console/webhooks",
            data={"csrf": "forged", "action": "rotate", "webhook_id": webhook_id},
        )
        assert forged.status_code == 403
    other = await _admin(hub, "ccpcr-shelter", "hooks@shelter.example")
    async with signed_in(hub, other) as client:
        for action in ("rotate", "disable"):
            theirs = await _post(
                client, "/console/webhooks", {"action": action, "webhook_id": webhook_id}
            )
            assert theirs.status_code == 404 and 'id="signing-secret"' not in theirs.text
        edit = {"action": "edit", "webhook_id": webhook_id, "url": "http://127.0.0.1:9/m"}
        assert (
            await _post(client, "/console/webhooks", {**edit, "topics": "CASE"})
        ).status_code == 404
    worker = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "cw-hooks@adhoc.example")
    async with signed_in(hub, worker) as client:
        page = await client.get("/console/referrals")
        refused = await client.post(
            "/console/webhooks",
            data={"csrf": csrf_of(page.text), "action": "rotate", "webhook_id": webhook_id},
        )
        assert refused.status_code == 403
    assert await hub.scalar("SELECT url || ' ' || secret_sealed FROM webhooks") == before
    assert await hub.scalar("SELECT enabled FROM webhooks")
