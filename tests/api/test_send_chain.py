"""Sends racing one another: each is one write transaction that reads the audit chain's head
in its first SELECT (SQLite) or under the chain's lock (PostgreSQL). Twelve first referrals
of twelve cases sent at once leave one unbroken chain, every referral with its entry, and
the case's status change before the referral in the outbox."""

from __future__ import annotations

import asyncio

from store.audit import verify_audit
from tests.api.referral_steps import SENDER, audit_about, events_about, record_consent, send
from tests.api.test_cases_flow import open_case
from tests.network import RunningHub


async def test_twelve_sends_at_once_extend_one_unbroken_audit_chain(hub: RunningHub) -> None:
    cases = []
    for _ in range(12):
        case_id = await open_case(hub)
        await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
        cases.append(case_id)
    await hub.token(SENDER)
    before = await hub.scalar("SELECT COUNT(*) FROM audit")

    results = await asyncio.gather(
        *(send(hub, case_id, "adhoc", f"chain-race-{n:04d}") for n, case_id in enumerate(cases))
    )

    assert [r.errors for r in results] == [[]] * 12, [r.body for r in results if r.errors]
    async with hub.db.read() as session:
        report = await verify_audit(session)
    assert report.intact, report
    assert report.entries == before + 12
    for result, case_id in zip(results, cases, strict=True):
        rid = result.data["sendReferral"]["id"]
        assert [a[0] for a in await audit_about(hub, rid)] == ["referral.send"]
        case_events = [e["type"] for e in await events_about(hub, case_id)]
        assert case_events.count("CASE_STATUS_CHANGED") == 1
        sent = await hub.scalar(
            "SELECT id FROM events WHERE subject_id = :id AND type = 'REFERRAL_SENT'", id=rid
        )
        changed = await hub.scalar(
            "SELECT MAX(id) FROM events WHERE subject_id = :id AND type = 'CASE_STATUS_CHANGED'",
            id=case_id,
        )
        assert changed < sent  # one statement, in the order the send decided
