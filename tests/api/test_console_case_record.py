"""The case page's consent, history and disclosure log, and the survivor's report, over
real HTTP: the same services and refusals as the API's recordConsent, withdrawConsent,
consents, disclosures and statusHistory."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from consent.models import ConsentGrant, ConsentWithdrawal
from orgs.demo import DEMO_NETWORK
from orgs.staff_models import StaffMember
from orgs.staff_rules import StaffRole
from store.audit import AuditEntry
from tests.api.console_support import Account, csrf_of, enrol, signed_in
from tests.api.event_support import refer
from tests.api.repatriation_support import NAME, open_case
from tests.marker_watch import planted
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio

OWNER = "ccpcr-koh-kong"
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
ERASE = "mutation($input: EraseCaseDataInput!) { eraseCaseData(input: $input) { caseId } }"


async def _grants(hub: RunningHub, case_id: str) -> list[ConsentGrant]:
    async with hub.db.read() as session:
        return list(
            await session.scalars(
                select(ConsentGrant)
                .where(ConsentGrant.case_id == case_id)
                .order_by(ConsentGrant.version)
            )
        )


async def _staff_id(hub: RunningHub, email: str) -> str:
    async with hub.db.read() as session:
        found = await session.scalars(select(StaffMember.id).where(StaffMember.email == email))
        return str(found.one())


def _consent_form(page: str, hub: RunningHub, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf": csrf_of(page),
        "grantor": "SURVIVOR",
        "method": "THUMBPRINT",
        "interpreter_language": "km",
        "purposes": ["LEGAL_AID"],
        "categories": ["IDENTITY", "LEGAL"],
        "recipients": [hub.members["adhoc"].organization_id],
    }
    form.update(overrides)
    return form


async def _record(
    client: httpx.AsyncClient, hub: RunningHub, case_id: str, **overrides: object
) -> httpx.Response:
    page = await client.get(f"/console/cases/{case_id}")
    assert page.status_code == 200, page.text
    return await client.post(
        f"/console/cases/{case_id}/consent", data=_consent_form(page.text, hub, **overrides)
    )


def _section(page: str, anchor: str) -> str:
    return page.split(anchor, 1)[1]


async def _owner(hub: RunningHub, email: str, role: StaffRole = StaffRole.CASEWORKER) -> Account:
    return await enrol(hub, OWNER, role, email, display_name="Dara Keo")


async def test_a_caseworker_records_consent_with_a_thumbprint_on_the_case_page(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub, owner=OWNER)
    account = await _owner(hub, "consent@ccpcr.example")
    async with signed_in(hub, account) as client:
        page = await client.get(f"/console/cases/{case_id}")
        assert 'action="/console/cases/' + case_id + '/consent"' in page.text
        assert "No consent recorded yet." in page.text
        done = await _record(client, hub, case_id)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/console/cases/{case_id}#consent"
        after = await client.get(f"/console/cases/{case_id}")
        assert after.headers["cache-control"] == "no-store"
        grant = _section(after.text, 'class="grant"')
        assert "Consent version 1" in grant and "Thumbprint" in grant
        assert '<span class="interpreter">km</span>' in grant
        assert "ADHOC Legal Aid" in grant and "Legal aid" in grant
    (stored,) = await _grants(hub, case_id)
    assert stored.method == "THUMBPRINT" and stored.interpreter_language == "km"
    assert stored.purposes == ["LEGAL_AID"] and stored.categories == ["IDENTITY", "LEGAL"]
    assert stored.recipient_organization_ids == [hub.members["adhoc"].organization_id]
    staff_id = await _staff_id(hub, account.email)
    async with hub.db.read() as session:
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.subject_id == stored.id))
        ).one()
    assert entry.action == "consent.record" and entry.actor_staff_id == staff_id
    # The named recipient may now see the case, as through the API.
    reader = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "reader1@adhoc.example")
    async with signed_in(hub, reader) as client:
        seen = await client.get(f"/console/cases/{case_id}")
        assert seen.status_code == 200 and planted("Chan Vuthy") in seen.text


async def test_a_caseworker_withdraws_consent_with_a_reason_shown_as_text(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub, owner=OWNER)
    account = await _owner(hub, "withdraw@ccpcr.example")
    reason = planted("she changed her mind " + XSS)
    async with signed_in(hub, account) as client:
        assert (await _record(client, hub, case_id)).status_code == 303
        (grant,) = await _grants(hub, case_id)
        page = await client.get(f"/console/cases/{case_id}")
        path = f"/console/cases/{case_id}/consent/{grant.id}/withdraw"
        assert f'action="{path}"' in page.text
        done = await client.post(path, data={"csrf": csrf_of(page.text), "reason": reason})
        assert done.status_code == 303, done.text
        after = await client.get(f"/console/cases/{case_id}")
        assert "withdrawn" in _section(after.text, 'class="grant"')
        assert "<script>" not in after.text and "<img src=x" not in after.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in after.text
        assert f'action="{path}"' not in after.text
        # Withdrawing twice is the API's INVALID_TRANSITION, translated.
        again = await client.post(path, data={"csrf": csrf_of(after.text), "reason": reason})
        assert again.status_code == 409
        assert 'data-code="INVALID_TRANSITION"' in again.text
        # No reason: BAD_USER_INPUT, nothing else changes.
        other = await open_case(hub, owner=OWNER)
        assert (await _record(client, hub, other)).status_code == 303
        (second,) = await _grants(hub, other)
        empty = await client.post(
            f"/console/cases/{other}/consent/{second.id}/withdraw",
            data={"csrf": csrf_of(after.text), "reason": "  "},
        )
        assert empty.status_code == 400 and 'data-code="BAD_USER_INPUT"' in empty.text
        # A consent of one case is never withdrawn through another case's address.
        crossed = await client.post(
            f"/console/cases/{case_id}/consent/{second.id}/withdraw",
            data={"csrf": csrf_of(after.text), "reason": reason},
        )
        assert crossed.status_code == 404
    async with hub.db.read() as session:
        assert await session.get(ConsentWithdrawal, grant.id) is not None
        assert await session.get(ConsentWithdrawal, second.id) is None


async def test_bad_consent_forms_are_refused_and_write_nothing(hub: RunningHub) -> None:
    case_id = await open_case(hub, owner=OWNER)
    account = await _owner(hub, "bad@ccpcr.example")
    async with signed_in(hub, account) as client:
        for overrides in (
            {"interpreter_language": planted(XSS)},
            {"purposes": []},
            {"categories": ["NOT_A_CATEGORY"]},
            {"method": "SIGNAL_FLAG"},
            {"recipients": [], "recipient_kinds": []},
            {"recipients": ["00000000-0000-0000-0000-000000000000"]},
            {"valid_from": "2026-05-01", "valid_until": "2026-04-01"},
            {"valid_until": "tomorrow"},
            # A relative's basis belongs to a FAMILY grant only.
            {"reported_by": planted(XSS), "why_not_self": planted("held abroad")},
        ):
            refused = await _record(client, hub, case_id, **overrides)
            assert refused.status_code == 400, (overrides, refused.text)
            assert 'data-code="BAD_USER_INPUT"' in refused.text
            assert "<script>" not in refused.text
        page = await client.get(f"/console/cases/{case_id}")
        stale = await client.post(
            f"/console/cases/{case_id}/consent",
            data=_consent_form(page.text, hub, csrf="not-the-token"),
        )
        assert stale.status_code == 403 and 'data-code="CSRF"' in stale.text
    assert await _grants(hub, case_id) == []


async def test_a_relatives_consent_keeps_her_words_sealed_and_off_the_page(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub, owner=OWNER)
    account = await _owner(hub, "family@ccpcr.example")
    async with signed_in(hub, account) as client:
        done = await _record(
            client,
            hub,
            case_id,
            grantor="FAMILY",
            relationship="SIBLING",
            reported_by=planted("Sokha " + XSS),
            why_not_self=planted("held in a karaoke bar " + XSS),
        )
        assert done.status_code == 303, done.text
        page = await client.get(f"/console/cases/{case_id}")
        assert "Family member" in page.text
        assert (
            "<script>" not in page.text and planted("held in a karaoke bar " + XSS) not in page.text
        )
    (grant,) = await _grants(hub, case_id)
    assert grant.grantor == "FAMILY"


async def test_who_may_not_record_or_withdraw_consent_is_refused(hub: RunningHub) -> None:
    case_id, _ = await refer(hub, OWNER, "adhoc", ["LEGAL_AID"], "LEGAL_AID", "case-rec-1")
    (grant,) = await _grants(hub, case_id)
    withdraw = f"/console/cases/{case_id}/consent/{grant.id}/withdraw"
    viewer = await _owner(hub, "viewer@ccpcr.example", StaffRole.VIEWER)
    party = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "party@adhoc.example")
    stranger = await enrol(hub, "ngo-malaysia", StaffRole.CASEWORKER, "x@ngo.example")
    for account, status, code in (
        (viewer, 403, "FORBIDDEN"),
        (party, 403, "FORBIDDEN"),
        (stranger, 404, "NOT_FOUND"),
    ):
        async with signed_in(hub, account) as client:
            home = await client.get("/console/referrals")
            page = await client.get(f"/console/cases/{case_id}")
            # Nobody but the owner's caseworkers gets the forms.
            assert "/consent" not in page.text
            assert 'id="consent"' not in page.text or account is viewer
            recorded = await client.post(
                f"/console/cases/{case_id}/consent", data=_consent_form(home.text, hub)
            )
            assert recorded.status_code == status, (account.email, recorded.text)
            assert f'data-code="{code}"' in recorded.text
            withdrawn = await client.post(
                withdraw, data={"csrf": csrf_of(home.text), "reason": planted("asked")}
            )
            assert withdrawn.status_code == status
            assert f'data-code="{code}"' in withdrawn.text
    assert len(await _grants(hub, case_id)) == 1
    async with hub.db.read() as session:
        assert await session.get(ConsentWithdrawal, grant.id) is None


async def test_after_her_erasure_nothing_new_is_written_but_consent_can_be_withdrawn(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub, owner=OWNER)
    account = await _owner(hub, "erased@ccpcr.example")
    family = {
        "grantor": "FAMILY",
        "relationship": "PARENT",
        "reported_by": planted("her mother"),
        "why_not_self": planted("unreachable"),
    }
    async with signed_in(hub, account) as client:
        assert (await _record(client, hub, case_id, **family)).status_code == 303
        (grant,) = await _grants(hub, case_id)
        erased = await hub.gql(
            OWNER,
            ERASE,
            {
                "input": {
                    "caseId": case_id,
                    "reason": planted("she asked"),
                    "idempotencyKey": "erase-case-rec-2",
                }
            },
        )
        assert not erased.errors, erased.errors
        # A relative's basis would be sealed under her destroyed key: refused, in words.
        refused = await _record(client, hub, case_id, **family)
        assert refused.status_code == 409
        assert 'data-code="ERASED"' in refused.text and "was erased" in refused.text
        page = await client.get(f"/console/cases/{case_id}")
        done = await client.post(
            f"/console/cases/{case_id}/consent/{grant.id}/withdraw",
            data={"csrf": csrf_of(page.text), "reason": planted("after erasure")},
        )
        assert done.status_code == 303, done.text
        after = await client.get(f"/console/cases/{case_id}")
        assert "withdrawn" in _section(after.text, 'class="grant"')
        assert planted("after erasure") not in after.text
    assert len(await _grants(hub, case_id)) == 1


async def test_the_owner_sees_status_history_and_who_has_seen_the_case(hub: RunningHub) -> None:
    case_id, _ = await refer(hub, OWNER, "adhoc", ["LEGAL_AID"], "LEGAL_AID", "case-rec-3")
    reader = await enrol(
        hub, "adhoc", StaffRole.CASEWORKER, "lawyer@adhoc.example", display_name="Vanna Lim"
    )
    async with signed_in(hub, reader) as client:
        seen = await client.get(f"/console/cases/{case_id}")
        assert seen.status_code == 200
        # A party sees the status history, not the owner's consent record or log.
        assert "Status history" in seen.text and 'id="seen"' not in seen.text
    account = await _owner(hub, "log@ccpcr.example")
    async with signed_in(hub, account) as client:
        page = await client.get(f"/console/cases/{case_id}")
        history = _section(page.text, 'id="history-title"').split("</table>")[0]
        assert 'data-status="OPEN"' in history and "CCPCR Transit Centre Koh Kong" in history
        log = _section(page.text, 'id="seen"')
        row = next(r for r in log.split('<tr class="seen">')[1:] if "ADHOC Legal Aid" in r)
        assert "Vanna Lim" in row and "identity" in row and "version 1" in row


def _name(hub: RunningHub, member: str) -> str:
    return next(full for short, full, *_ in DEMO_NETWORK if short == member)


async def _report(client: httpx.AsyncClient, case_id: str, language: str) -> httpx.Response:
    return await client.get(f"/console/cases/{case_id}/report", params={"language": language})


async def test_the_survivors_report_in_khmer_and_english(hub: RunningHub) -> None:
    case_id, _ = await refer(hub, OWNER, "adhoc", ["LEGAL_AID"], "LEGAL_AID", "case-rec-4")
    # Another survivor's case, seen by another organisation: never in her report.
    other, _ = await refer(
        hub, OWNER, "ngo-malaysia", ["SHELTER"], "SERVICE_REFERRAL", "case-rec-5"
    )
    reader = await enrol(
        hub, "adhoc", StaffRole.CASEWORKER, "r4@adhoc.example", display_name="Vanna Lim"
    )
    async with signed_in(hub, reader) as client:
        assert (await client.get(f"/console/cases/{case_id}")).status_code == 200
        # The party may see the case, but not her report: the owner's, as on the API.
        refused = await _report(client, case_id, "en")
        assert refused.status_code == 403 and 'data-code="FORBIDDEN"' in refused.text
    outsider = await enrol(hub, "ngo-malaysia", StaffRole.CASEWORKER, "r5@ngo.example")
    async with signed_in(hub, outsider) as client:
        assert (await client.get(f"/console/cases/{other}")).status_code == 200
        assert (await _report(client, case_id, "en")).status_code == 404
    # The caseworker reads English; the report is printed in Khmer for the survivor.
    account = await _owner(hub, "report@ccpcr.example")
    async with signed_in(hub, account) as client:
        page = await client.get(f"/console/cases/{case_id}")
        assert f'href="/console/cases/{case_id}/report"' in page.text
        khmer = await _report(client, case_id, "km")
        english = await _report(client, case_id, "en")
    for response in (khmer, english):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert len(response.content) < 100 * 1024
        report = _section(response.text, '<article class="report"')
        assert "ADHOC Legal Aid" in report and "Vanna Lim" in report
        assert _name(hub, "ngo-malaysia") not in report
        assert NAME not in response.text and planted("IDC Suan Phlu, Bangkok") not in report
    assert '<html lang="en">' in khmer.text  # her own language for the page around it
    km_report = _section(khmer.text, '<article class="report"')
    assert 'lang="km"' in khmer.text.split('<article class="report"')[1][:40]
    assert "អ្នកដែលបានឃើញព័ត៌មានរបស់អ្នក" in km_report
    assert "អ្នកជានរណា៖ ឈ្មោះ អាយុ និងឯកសាររបស់អ្នក" in km_report
    assert "ការយល់ព្រមរបស់អ្នកនៅ" in km_report
    assert "Who has seen your information" not in km_report
    en_report = _section(english.text, '<article class="report"')
    assert "Who has seen your information" in en_report
    assert "who you are: your name, age and papers" in en_report
    assert "your legal matters" in en_report and "your health" not in en_report
    assert re.search(r"your consent of .+ \(version 1\)", en_report)


async def test_a_report_with_nobody_yet_says_so(hub: RunningHub) -> None:
    case_id = await open_case(hub, owner=OWNER)
    account = await _owner(hub, "empty@ccpcr.example", StaffRole.VIEWER)
    async with signed_in(hub, account) as client:
        report = await _report(client, case_id, "km")
        assert report.status_code == 200
        assert "គ្មានអង្គការផ្សេងបានឃើញព័ត៌មានរបស់អ្នកទេ។" in report.text
        assert (
            await _report(client, "00000000-0000-0000-0000-000000000000", "en")
        ).status_code == 404
    # An admin's role holds no casework scope: refused as the API refuses `disclosures`.
    admin = await _owner(hub, "admin@ccpcr.example", StaffRole.ORG_ADMIN)
    async with signed_in(hub, admin) as client:
        refused = await _report(client, case_id, "en")
        assert refused.status_code == 403 and 'data-code="FORBIDDEN"' in refused.text
