"""Security keys (WebAuthn) as the second factor: add, sign in, remove — and every refusal.

A software key (tests/api/webauthn_support.py) answers the hub's options over real HTTP as a
browser with a key would; tests make it lie to check what the hub refuses.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from orgs import service as org_service
from orgs.principal import operator
from orgs.rules import MembershipAction
from orgs.security_key_models import StaffSecurityKey, WebAuthnChallenge
from orgs.staff_models import StaffMember
from orgs.staff_rules import StaffRole
from store.audit import AuditEntry
from store.types import utcnow
from tests.api.console_support import (
    Account,
    browser,
    csrf_of,
    enrol,
    sign_in,
    signed_in,
)
from tests.api.webauthn_support import (
    SoftKey,
    add_key,
    key_options,
    key_sign_in,
    post_assertion,
)
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


async def _with_key(hub: RunningHub, email: str, member: str = "adhoc") -> tuple[Account, SoftKey]:
    account = await enrol(hub, member, StaffRole.CASEWORKER, email)
    key = SoftKey(origin=hub.base_url)
    async with signed_in(hub, account) as client:
        added = await add_key(client, key)
        assert added.status_code == 200, added.text
    return account, key


async def _staff(hub: RunningHub, email: str) -> StaffMember:
    async with hub.db.read() as session:
        return (await session.scalars(select(StaffMember).where(StaffMember.email == email))).one()


async def _keys(hub: RunningHub) -> list[StaffSecurityKey]:
    async with hub.db.read() as session:
        return list((await session.scalars(select(StaffSecurityKey))).all())


async def test_a_person_adds_a_key_and_signs_in_with_it(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "key@adhoc.example")
    key = SoftKey(origin=hub.base_url)
    async with signed_in(hub, account) as client:
        empty = await client.get("/console/security-keys")
        assert empty.status_code == 200
        assert "You have no security keys yet." in empty.text
        assert '<script src="/console/static/webauthn.js" defer>' in empty.text
        assert len(empty.content) < 100 * 1024
        added = await add_key(client, key, name='<script>alert(1)</script>"><img onerror=x>')
        assert added.status_code == 200, added.text
        assert added.json() == {"redirect": "/console/security-keys?added=1"}
        page = await client.get("/console/security-keys?added=1")
        # The name is shown back escaped, never as markup.
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img onerror=x&gt;" in page.text
        assert "<img onerror" not in page.text
        assert "The security key was added." in page.text and "Never" in page.text
        # A second add of the same key is excluded by the options, and refused if forced.
        csrf = csrf_of(page.text)
        options = (await client.post("/console/security-keys/options", json={"csrf": csrf})).json()
        assert [c["id"] for c in options["excludeCredentials"]] == [key.register(options)["rawId"]]
        assert options["rp"]["id"] == "127.0.0.1"
        assert options["authenticatorSelection"]["userVerification"] == "preferred"
        again = await client.post(
            "/console/security-keys/add",
            json={"csrf": csrf, "name": "again", "credential": key.register(options)},
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    assert len(await _keys(hub)) == 1

    async with browser(hub) as client:
        page = await client.get("/console/sign-in")
        # The TOTP form stays; the key button is there for the script to show.
        assert 'name="code"' in page.text and 'id="key-sign-in"' in page.text
        assert re.search(r'<section id="key-sign-in"[^>]*hidden>', page.text)
        done = await key_sign_in(client, account.email, account.password, key)
        assert done.status_code == 200, done.text
        assert done.json() == {"redirect": "/console/referrals"}
        assert "HttpOnly" in done.headers["set-cookie"]
        inbox = await client.get("/console/referrals")
        assert inbox.status_code == 200 and "Sokha Chea" in inbox.text
        keys_page = await client.get("/console/security-keys")
        assert "Never" not in keys_page.text

    stored = (await _keys(hub))[0]
    assert stored.sign_count == 1 and stored.last_used_at is not None
    staff_id = (await _staff(hub, account.email)).id
    async with hub.db.read() as session:
        entries = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action.like("staff.security_key.%"))
            )
        ).all()
    assert [e.action for e in entries] == ["staff.security_key.add", "staff.security_key.use"]
    assert all(e.actor_staff_id == staff_id and e.subject_id == staff_id for e in entries)
    # The entries name the key by its id only: no key material.
    assert all(e.detail == {"key_id": stored.id} for e in entries)


async def test_a_replayed_assertion_and_a_reused_or_expired_challenge_are_refused(
    hub: RunningHub,
) -> None:
    account, key = await _with_key(hub, "replay@adhoc.example")
    async with browser(hub) as client:
        csrf, options = await key_options(client, account.email, account.password)
        assertion = key.assertion(options.json())
        assert (await post_assertion(client, csrf, assertion)).status_code == 200
        # The same answer again: its challenge was used.
        replayed = await post_assertion(client, csrf, assertion)
        assert replayed.status_code == 401
        assert replayed.json()["error"]["code"] == "UNAUTHENTICATED"
        # Replayed against a fresh challenge: it signed the old one.
        csrf, fresh = await key_options(client, account.email, account.password)
        assert fresh.status_code == 200
        assert (await post_assertion(client, csrf, assertion)).status_code == 401
        # And the fresh challenge died with that attempt: single use, even when refused.
        assert (await post_assertion(client, csrf, key.assertion(fresh.json()))).status_code == 401
        # An expired challenge.
        csrf, late = await key_options(client, account.email, account.password)
        async with hub.db.write() as session:
            await session.execute(
                update(WebAuthnChallenge).values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert (await post_assertion(client, csrf, key.assertion(late.json()))).status_code == 401
    # Counted: the old answer to a fresh challenge, the expired one. An answer with no
    # open challenge names no account to count against.
    assert (await _staff(hub, account.email)).failed_attempts == 2


async def test_a_challenge_belongs_to_the_browser_that_asked_for_it(hub: RunningHub) -> None:
    account, key = await _with_key(hub, "bound@adhoc.example")
    async with browser(hub) as asked, browser(hub) as other:
        _, options = await key_options(asked, account.email, account.password)
        page = await other.get("/console/sign-in")
        answer = key.assertion(options.json())
        refused = await post_assertion(other, csrf_of(page.text), answer)
        assert refused.status_code == 401
        # Without the double-submit token: a CSRF refusal.
        forged = await asked.post("/console/sign-in/key", json={"credential": answer})
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "CSRF"
        assert forged.json()["error"]["message"].startswith("This form has expired")
        # The message is the reader's language, from the catalog.
        asked.cookies.set("hub_console_lang", "km", domain="127.0.0.1", path="/console")
        khmer = await asked.post("/console/sign-in/key", json={"credential": answer})
        message = khmer.json()["error"]["message"]
        assert message and "This form" not in message
        assert any("\u1780" <= c <= "\u17ff" for c in message)


async def test_another_accounts_key_does_not_sign_in(hub: RunningHub) -> None:
    first, first_key = await _with_key(hub, "one@adhoc.example")
    second, _ = await _with_key(hub, "two@adhoc.example")
    async with browser(hub) as client:
        csrf, options = await key_options(client, second.email, second.password)
        assert [c["id"] for c in options.json()["allowCredentials"]] != [
            first_key.assertion(options.json())["rawId"]
        ]
        refused = await post_assertion(client, csrf, first_key.assertion(options.json()))
        assert refused.status_code == 401
        assert (await client.get("/console/referrals")).status_code == 303
    assert (await _staff(hub, second.email)).failed_attempts == 1
    assert (await _staff(hub, first.email)).failed_attempts == 0


async def test_a_counter_that_does_not_increase_is_refused_as_a_clone(hub: RunningHub) -> None:
    account, key = await _with_key(hub, "clone@adhoc.example")
    async with browser(hub) as client:
        assert (await key_sign_in(client, account.email, account.password, key)).status_code == 200
        assert (await key_sign_in(client, account.email, account.password, key)).status_code == 200
    assert (await _keys(hub))[0].sign_count == 2
    async with browser(hub) as client:
        for count in (2, 1, 0):
            lagging = await key_sign_in(client, account.email, account.password, key, count=count)
            assert lagging.status_code == 401
    # The stored counter did not move back.
    assert (await _keys(hub))[0].sign_count == 2


@pytest.mark.parametrize(
    "lie", [{"origin": "http://evil.example"}, {"rp_id": "evil.example"}], ids=["origin", "rp_id"]
)
async def test_a_wrong_origin_or_rp_id_is_refused(hub: RunningHub, lie: dict[str, str]) -> None:
    account, key = await _with_key(hub, "phish@adhoc.example")
    async with browser(hub) as client:
        refused = await key_sign_in(client, account.email, account.password, key, **lie)
        assert refused.status_code == 401
    other = SoftKey(origin=hub.base_url)
    async with signed_in(hub, account) as client:
        bad = await add_key(client, other, "phished", **lie)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "BAD_USER_INPUT"
    assert len(await _keys(hub)) == 1


async def test_a_disabled_account_or_suspended_organisation_cannot_sign_in(
    hub: RunningHub,
) -> None:
    account, key = await _with_key(hub, "gone@adhoc.example")
    async with browser(hub) as client:
        # Disabled between the options and the answer.
        csrf, options = await key_options(client, account.email, account.password)
        async with hub.db.write() as session:
            await session.execute(update(StaffMember).values(disabled=True))
        refused = await post_assertion(client, csrf, key.assertion(options.json()))
        assert refused.status_code == 401
        _, again = await key_options(client, account.email, account.password)
        assert again.status_code == 401
        async with hub.db.write() as session:
            await session.execute(update(StaffMember).values(disabled=False, failed_attempts=0))
        await org_service.change_membership(
            hub.db, operator(), account.organization_id, MembershipAction.SUSPEND, "audit"
        )
        _, suspended = await key_options(client, account.email, account.password)
        assert suspended.status_code == 401
        await org_service.change_membership(
            hub.db, operator(), account.organization_id, MembershipAction.REINSTATE, "cleared"
        )
        csrf, options = await key_options(client, account.email, account.password)
        assert options.status_code == 200
        await org_service.change_membership(
            hub.db, operator(), account.organization_id, MembershipAction.SUSPEND, "again"
        )
        late = await post_assertion(client, csrf, key.assertion(options.json()))
        assert late.status_code == 401
        assert (await client.get("/console/referrals")).status_code == 303


async def test_key_failures_count_toward_the_same_lockout(hub: RunningHub) -> None:
    account, key = await _with_key(hub, "lock@adhoc.example")
    async with browser(hub) as client:
        for _ in range(3):
            bad = await key_sign_in(
                client, account.email, account.password, key, origin="http://evil.example"
            )
            assert bad.status_code == 401
        # A wrong password at the key's first step counts as well.
        _, wrong = await key_options(client, account.email, "not the password")
        assert wrong.status_code == 401
        # A wrong TOTP code makes five: locked.
        assert (await sign_in(client, account, code="000000")).status_code == 401
        staff = await _staff(hub, account.email)
        assert staff.failed_attempts == 5 and staff.locked_until is not None
        # The right key is refused while locked, in the same words, and so is TOTP.
        _, locked = await key_options(client, account.email, account.password)
        assert locked.status_code == 401 and locked.json() == wrong.json()
        assert (await sign_in(client, account)).status_code == 401
        # When the delay has passed, the key works and the count resets.
        async with hub.db.write() as session:
            await session.execute(update(StaffMember).values(locked_until=None))
        assert (await key_sign_in(client, account.email, account.password, key)).status_code == 200
    assert (await _staff(hub, account.email)).failed_attempts == 0


async def test_removing_a_key_needs_the_password(hub: RunningHub) -> None:
    account, _ = await _with_key(hub, "remove@adhoc.example")
    other, other_key = await _with_key(hub, "remove2@adhoc.example")
    mine = (await _keys(hub))[0]
    assert mine.staff_id == (await _staff(hub, account.email)).id
    theirs = next(k for k in await _keys(hub) if k.id != mine.id)
    async with signed_in(hub, account) as client:
        page = await client.get("/console/security-keys")
        csrf = csrf_of(page.text)
        path = f"/console/security-keys/{mine.id}/remove"
        forged = await client.post(path, data={"csrf": "guessed", "password": account.password})
        assert forged.status_code == 403
        wrong = await client.post(path, data={"csrf": csrf, "password": "not the password"})
        assert wrong.status_code == 403 and 'data-code="FORBIDDEN"' in wrong.text
        assert (await _staff(hub, account.email)).failed_attempts == 1
        foreign = await client.post(
            f"/console/security-keys/{theirs.id}/remove",
            data={"csrf": csrf, "password": account.password},
        )
        assert foreign.status_code == 404
        assert len(await _keys(hub)) == 2
        done = await client.post(path, data={"csrf": csrf, "password": account.password})
        assert done.status_code == 303
        assert done.headers["location"] == "/console/security-keys?removed=1"
        assert "The security key was removed." in (await client.get(done.headers["location"])).text
    assert [k.id for k in await _keys(hub)] == [theirs.id]
    async with browser(hub) as client:
        _, options = await key_options(client, account.email, account.password)
        assert options.status_code == 401
        # The other person's key still works.
        signed = await key_sign_in(client, other.email, other.password, other_key)
        assert signed.status_code == 200
    async with hub.db.read() as session:
        removed = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "staff.security_key.remove")
            )
        ).one()
    assert removed.detail == {"key_id": mine.id} and removed.actor_staff_id == mine.staff_id


async def test_adding_a_key_needs_this_session_and_its_token(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "session@adhoc.example")
    key = SoftKey(origin=hub.base_url)
    async with signed_in(hub, account) as laptop, signed_in(hub, account) as phone:
        page = await laptop.get("/console/security-keys")
        csrf = csrf_of(page.text)
        forged = await laptop.post("/console/security-keys/options", json={"csrf": "guessed"})
        assert forged.status_code == 403
        options = (await laptop.post("/console/security-keys/options", json={"csrf": csrf})).json()
        # The answer posted from another session of the same person: not its challenge.
        phone_csrf = csrf_of((await phone.get("/console/security-keys")).text)
        elsewhere = await phone.post(
            "/console/security-keys/add",
            json={"csrf": phone_csrf, "name": "k", "credential": key.register(options)},
        )
        assert elsewhere.status_code == 400
        empty_name = await laptop.post(
            "/console/security-keys/add",
            json={"csrf": csrf, "name": " ", "credential": key.register(options)},
        )
        assert empty_name.status_code == 400
    async with browser(hub) as stranger:
        nobody = await stranger.post("/console/security-keys/options", json={"csrf": "x"})
        assert nobody.status_code == 401
        assert (await stranger.get("/console/security-keys")).status_code == 303
    assert await _keys(hub) == []


async def test_one_answer_posted_twice_at_once_signs_in_once(hub: RunningHub) -> None:
    account, key = await _with_key(hub, "race@adhoc.example")
    async with browser(hub) as client:
        csrf, options = await key_options(client, account.email, account.password)
        answer = key.assertion(options.json())
        results = await asyncio.gather(*(post_assertion(client, csrf, answer) for _ in range(3)))
    assert sorted(r.status_code for r in results) == [200, 401, 401]
    async with hub.db.read() as session:
        uses = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "staff.security_key.use")
            )
        ).all()
    assert len(uses) == 1
