"""Refusals in the console read in the person's language, from the catalog, never as the
service's own English text."""

from __future__ import annotations

import pytest

from gateway.console.errors import ERROR_MESSAGES
from gateway.console.i18n import translations
from orgs.staff_rules import StaffRole
from tests.api.console_support import csrf_of, enrol, signed_in
from tests.api.event_support import refer
from tests.network import RunningHub

pytestmark = pytest.mark.asyncio


async def test_a_refusal_reads_in_khmer_for_a_khmer_reader(hub: RunningHub) -> None:
    _, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "console-km-refusal"
    )
    account = await enrol(hub, "adhoc", StaffRole.VIEWER, "km-viewer@adhoc.example", locale="km")
    khmer = translations("km").gettext
    async with signed_in(hub, account) as client:
        inbox = await client.get("/console/referrals")
        refused = await client.post(
            f"/console/referrals/{referral}/action",
            data={"csrf": csrf_of(inbox.text), "action": "ACKNOWLEDGE"},
        )
        assert refused.status_code == 403
        assert 'data-code="FORBIDDEN"' in refused.text
        assert khmer(ERROR_MESSAGES["FORBIDDEN"]) in refused.text
        assert ERROR_MESSAGES["FORBIDDEN"] not in refused.text
        assert "referrals:write" not in refused.text  # the service's own words stay inside
        bad = await client.post(
            f"/console/referrals/{referral}/action", data={"csrf": "forged", "action": "x"}
        )
        assert bad.status_code == 403
        assert khmer(ERROR_MESSAGES["CSRF"]) in bad.text


async def test_an_english_reader_gets_the_english_message_for_a_stale_version(
    hub: RunningHub,
) -> None:
    _, referral = await refer(
        hub, "ccpcr-koh-kong", "adhoc", ["LEGAL_AID"], "LEGAL_AID", "console-en-conflict"
    )
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "en-worker@adhoc.example")
    async with signed_in(hub, account) as client:
        inbox = await client.get("/console/referrals")
        stale = await client.post(
            f"/console/referrals/{referral}/action",
            data={"csrf": csrf_of(inbox.text), "action": "ACKNOWLEDGE", "version": "999"},
        )
        assert stale.status_code == 409
        assert 'data-code="CONFLICT"' in stale.text
        assert ERROR_MESSAGES["CONFLICT"] in stale.text
