"""The console is exactly as strict as the API: same services, same filter, same refusals."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from consent.models import Disclosure
from orgs.staff_models import StaffMember
from orgs.staff_rules import StaffRole
from store.audit import AuditEntry, verify_audit
from tests.api.console_support import csrf_of, enrol, signed_in
from tests.api.event_support import refer
from tests.api.repatriation_support import open_case
from tests.marker_watch import planted
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


async def _staff_id(hub: RunningHub, email: str) -> str:
    async with hub.db.read() as session:
        return str(
            (await session.scalars(select(StaffMember.id).where(StaffMember.email == email))).one()
        )


async def test_a_caseworker_acknowledges_accepts_and_completes_a_referral(
    hub: RunningHub,
) -> None:
    case_id, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "console-1"
    )
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "worker@adhoc.example")
    async with signed_in(hub, account) as client:
        for action, status in (
            ("ACKNOWLEDGE", "Acknowledged"),
            ("ACCEPT", "Accepted"),
            ("START", "In progress"),
            ("COMPLETE", "Completed"),
        ):
            inbox = await client.get("/console/referrals")
            row = inbox.text.split(f'data-referral="{referral}"')[1].split("</tr>")[0]
            assert f'value="{action}"' in row
            version = re.search(r'name="version" value="(\d+)"', row)
            assert version
            form = {"csrf": csrf_of(inbox.text), "action": action, "version": version.group(1)}
            if action == "COMPLETE":
                form |= {"delivered": "LEGAL_AID", "note": planted("complaint filed")}
            done = await client.post(f"/console/referrals/{referral}/action", data=form)
            assert done.status_code == 303, done.text
            after = await client.get("/console/referrals")
            row = after.text.split(f'data-referral="{referral}"')[1].split("</tr>")[0]
            assert f"<td>{status}" in row
    # The audit entries of those steps name the person as well as the organisation.
    staff_id = await _staff_id(hub, account.email)
    async with hub.db.read() as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.subject_id == referral))
        ).all()
        by_person = [e for e in entries if e.actor_staff_id == staff_id]
        assert len(by_person) == 4
        assert {e.actor_organization_id for e in by_person} == {account.organization_id}
        report = await verify_audit(session)
        assert report.first_broken is None, report
    assert case_id


async def test_the_case_page_withholds_what_consent_does_not_cover(hub: RunningHub) -> None:
    case_id = await open_case(hub, owner="ccpcr-koh-kong")
    await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "console-case-2", case_id
    )
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "reader@adhoc.example")
    async with signed_in(hub, account) as client:
        page = await client.get(f"/console/cases/{case_id}")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        # Consent covers IDENTITY and LEGAL for this receiver, not HEALTH.
        assert "withheld — no consent for HEALTH" in page.text
        assert planted("Chan Vuthy") in page.text
    # Reading it is a disclosure naming the person.
    staff_id = await _staff_id(hub, account.email)
    async with hub.db.read() as session:
        seen = (
            await session.scalars(select(Disclosure).where(Disclosure.case_id == case_id))
        ).all()
        assert any(d.staff_id == staff_id for d in seen)


async def test_a_viewer_sees_the_inbox_but_may_not_act(hub: RunningHub) -> None:
    _, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "console-viewer-1"
    )
    account = await enrol(hub, "adhoc", StaffRole.VIEWER, "viewer@adhoc.example")
    async with signed_in(hub, account) as client:
        inbox = await client.get("/console/referrals")
        assert f'data-referral="{referral}"' in inbox.text
        assert 'value="ACKNOWLEDGE"' not in inbox.text
        refused = await client.post(
            f"/console/referrals/{referral}/action",
            data={"csrf": csrf_of(inbox.text), "action": "ACKNOWLEDGE"},
        )
        assert refused.status_code == 403
        assert 'data-code="FORBIDDEN"' in refused.text


async def test_another_organisations_staff_find_nothing(hub: RunningHub) -> None:
    case_id, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "console-other-1"
    )
    account = await enrol(hub, "ngo-malaysia", StaffRole.CASEWORKER, "other@ngo.example")
    async with signed_in(hub, account) as client:
        inbox = await client.get("/console/referrals")
        assert referral not in inbox.text
        refused = await client.post(
            f"/console/referrals/{referral}/action",
            data={"csrf": csrf_of(inbox.text), "action": "ACKNOWLEDGE"},
        )
        assert refused.status_code == 404
        assert (await client.get(f"/console/cases/{case_id}")).status_code == 404


async def test_text_fields_are_shown_as_text_never_as_markup(hub: RunningHub) -> None:
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    case_id = await open_case(hub, owner="adhoc", name=planted(attack))
    account = await enrol(
        hub, "adhoc", StaffRole.CASEWORKER, "xss@adhoc.example", display_name=attack
    )
    async with signed_in(hub, account) as client:
        for path in ("/console/referrals", f"/console/cases/{case_id}"):
            page = await client.get(path)
            assert page.status_code == 200
            assert "<script>" not in page.text and "<img src=x" not in page.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_a_caseworker_opens_a_case_from_the_form(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "new@adhoc.example")
    name = planted("<b>Srey Mom</b>")
    async with signed_in(hub, account) as client:
        form = await client.get("/console/cases/new")
        assert form.status_code == 200
        made = await client.post(
            "/console/cases/new",
            data={
                "csrf": csrf_of(form.text),
                "age_band": "AGE_18_20",
                "sex": "FEMALE",
                "nationality": "KH",
                "fullName": name,
                "healthNotes": planted("needs a doctor"),
            },
        )
        assert made.status_code == 303
        location = made.headers["location"]
        # The survivor's name is in the form body only, never in the address.
        assert "Srey" not in location and location.startswith("/console/cases/")
        page = await client.get(location)
        assert "&lt;b&gt;Srey Mom&lt;/b&gt;" in page.text and "<b>Srey" not in page.text
        assert planted("needs a doctor") in page.text
    staff_id = await _staff_id(hub, account.email)
    async with hub.db.read() as session:
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "case.create"))
        ).one()
        assert entry.actor_staff_id == staff_id


async def test_a_viewer_may_not_open_a_case(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.VIEWER, "nocase@adhoc.example")
    async with signed_in(hub, account) as client:
        assert (await client.get("/console/cases/new")).status_code == 403
        inbox = await client.get("/console/referrals")
        refused = await client.post(
            "/console/cases/new",
            data={"csrf": csrf_of(inbox.text), "age_band": "AGE_18_20", "sex": "FEMALE"},
        )
        assert refused.status_code == 403
