"""An erased case stays erased: after a data backup from before her erasure is restored, and
when someone writes about her case again.

A data backup holds no case key (store/key_store.py), so restoring one taken before her
erasure brings back her ciphertext and no erasure record, but never her key: her values must
read as erased (ERASED), not fail. And nothing new about her may be sealed under a fresh key
that no erasure would ever destroy: such writes are CONFLICT, with nothing written.

The restore is played on the rows themselves (the erasure record gone, her sealed rows put
back as the backup holds them, the live key store as it is), so that it runs on SQLite and
PostgreSQL alike; `referral-hub restore` leaves the same state (gateway/backup.py `swap`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.api.test_case_erasure import (
    NOTE,
    OWNER,
    PARTNER,
    READ,
    REFER,
    REFERRAL,
    erase,
    open_case,
)
from tests.marker_watch import planted
from tests.network import RunningHub

HISTORY = "query($id: ID!) { case(id: $id) { statusHistory { status note } } }"
STATUS_NOTE = (
    "mutation($id: ID!, $note: String) "
    "{ updateCaseStatus(caseId: $id, status: IN_CARE, note: $note) { id status } }"
)
OTHER = {"fullName": planted("Pisey Thornbury-Khem"), "phone": planted("+855 16 220 9175")}
REASON = planted("referred because Thornbury fears the broker")


async def refer(hub: RunningHub, case_id: str, key: str) -> Any:
    return await hub.gql(
        OWNER,
        REFER,
        {
            "input": {
                "caseId": case_id,
                "receivingOrganizationId": hub.members[PARTNER].organization_id,
                "services": ["PSYCHOSOCIAL"],
                "urgency": "URGENT",
                "reason": REASON,
                "notes": NOTE,
                "idempotencyKey": key,
            }
        },
    )


async def rows(hub: RunningHub, sql: str, case_id: str) -> list[dict[str, Any]]:
    async with hub.db.read() as session:
        found = await session.execute(text(sql), {"id": case_id})
        return [dict(r._mapping) for r in found]


async def restore_rows(
    hub: RunningHub,
    case_id: str,
    fields: list[dict[str, Any]],
    notes: list[dict[str, Any]],
    referrals: list[dict[str, Any]],
) -> None:
    """Her data as the backup holds it, beside the live key store (which has no key of hers)."""
    async with hub.db.write() as session:
        await session.execute(
            text("DELETE FROM case_erasures WHERE case_id = :id"), {"id": case_id}
        )
        for row in fields:
            columns = ", ".join(row)
            values = ", ".join(f":{c}" for c in row)
            await session.execute(
                text(f"INSERT INTO case_fields ({columns}) VALUES ({values})"), row
            )
        for row in notes:
            await session.execute(
                text("UPDATE case_status_changes SET note = :note WHERE id = :id"), row
            )
        for row in referrals:
            await session.execute(
                text(
                    "UPDATE referrals SET reason_sealed = :reason_sealed, "
                    "notes_sealed = :notes_sealed WHERE id = :id"
                ),
                row,
            )


async def test_a_backup_from_before_her_erasure_restored_reads_as_erased(hub: RunningHub) -> None:
    # Given her case with fields, a status note and a referral, and another survivor's case
    her = await open_case(hub)
    other = await open_case(hub, OTHER)
    sent = await refer(hub, her, "restore-referral-01")
    assert not sent.errors, sent.errors
    referral = sent.data["sendReferral"]["id"]
    # and a backup of her rows taken now
    fields = await rows(hub, "SELECT * FROM case_fields WHERE case_id = :id", her)
    notes = await rows(
        hub,
        "SELECT id, note FROM case_status_changes WHERE case_id = :id AND note IS NOT NULL",
        her,
    )
    referrals = await rows(
        hub, "SELECT id, reason_sealed, notes_sealed FROM referrals WHERE case_id = :id", her
    )
    assert len(fields) == 3 and all(r["sealed"].startswith("c1.") for r in fields)
    assert len(notes) == 2 and len(referrals) == 1  # created, then referred

    # When her data is erased and the backup is restored with the live key store
    assert not (await erase(hub, her, "restore-erase-0001")).errors
    await restore_rows(hub, her, fields, notes, referrals)
    assert await hub.scalar("SELECT COUNT(*) FROM case_fields WHERE case_id = :id", id=her) == 3
    assert await hub.scalar("SELECT COUNT(*) FROM case_erasures WHERE case_id = :id", id=her) == 0

    # Then owner and party read her case as erased, without an error
    for member in (OWNER, PARTNER):
        read = await hub.gql(member, READ, {"id": her})
        assert not read.errors, read.errors
        case = read.data["case"]
        assert (case["id"], case["status"]) == (her, "REFERRED")
        assert case["fullName"] is None and case["phone"] is None and case["healthNotes"] is None
        assert {w["field"] for w in case["withheld"]} >= {"fullName", "phone", "healthNotes"}
        assert {w["reason"] for w in case["withheld"]} == {"ERASED"}
        # also when only the withheld list is asked for
        only = await hub.gql(
            member, "query($id: ID!) { case(id: $id) { withheld { reason } } }", {"id": her}
        )
        assert {w["reason"] for w in only.data["case"]["withheld"]} == {"ERASED"}, only.body
    # and her status note and referral texts read as empty, not as errors
    history = await hub.gql(OWNER, HISTORY, {"id": her})
    assert not history.errors, history.errors
    assert [h["note"] for h in history.data["case"]["statusHistory"]] == [None, None]
    for member in (OWNER, PARTNER):
        read = await hub.gql(member, REFERRAL, {"id": referral})
        assert not read.errors, read.errors
        assert read.data["referral"]["reason"] in ("", None)
        assert read.data["referral"]["notes"] in ("", None)
    # while the other survivor's case reads as before
    seen = await hub.gql(PARTNER, READ, {"id": other})
    assert not seen.errors, seen.errors
    assert seen.data["case"]["fullName"] == OTHER["fullName"]
    assert seen.data["case"]["phone"] == OTHER["phone"]

    # and nothing new about her is written under a fresh key
    note = planted("Thornbury note after the restore")
    refused = await hub.gql(OWNER, STATUS_NOTE, {"id": her, "note": note})
    assert refused.errors and refused.errors[0]["extensions"]["code"] == "CONFLICT", refused.body
    assert (
        await hub.scalar("SELECT COUNT(*) FROM keystore.case_keys WHERE case_id = :id", id=her) == 0
    )
    assert (
        await hub.scalar("SELECT COUNT(*) FROM case_status_changes WHERE case_id = :id", id=her)
        == 2
    )


async def test_writing_about_an_erased_case_is_refused_and_writes_nothing(
    hub: RunningHub,
) -> None:
    # Given an erased case, and a case that is not
    her = await open_case(hub)
    other = await open_case(hub, OTHER)
    assert not (await erase(hub, her, "write-erase-0001")).errors
    changes = await hub.scalar(
        "SELECT COUNT(*) FROM case_status_changes WHERE case_id = :id", id=her
    )
    referrals = await hub.scalar("SELECT COUNT(*) FROM referrals WHERE case_id = :id", id=her)

    # When her owner writes a status note, or sends a referral with a reason, about her case
    note = planted("Thornbury note after the erasure")
    moved = await hub.gql(OWNER, STATUS_NOTE, {"id": her, "note": note})
    sent = await refer(hub, her, "write-referral-01")

    # Then both are CONFLICT, and nothing was written: no key, no status, no referral
    for result in (moved, sent):
        assert result.errors, result.body
        assert result.errors[0]["extensions"]["code"] == "CONFLICT", result.body
        assert result.errors[0]["message"] == (
            "her data was erased: nothing more is written about her case"
        )
    assert (
        await hub.scalar("SELECT COUNT(*) FROM keystore.case_keys WHERE case_id = :id", id=her) == 0
    )
    assert await hub.scalar("SELECT status FROM cases WHERE id = :id", id=her) == "OPEN"
    assert (
        await hub.scalar("SELECT COUNT(*) FROM case_status_changes WHERE case_id = :id", id=her)
        == changes
    )
    assert (
        await hub.scalar("SELECT COUNT(*) FROM referrals WHERE case_id = :id", id=her) == referrals
    )
    # and a second erasure still answers CONFLICT (the case was erased once, and stays so)
    again = await erase(hub, her, "write-erase-0002")
    assert again.errors and again.errors[0]["extensions"]["code"] == "CONFLICT", again.body
    # but her consent can still be withdrawn: the withdrawal stands, its reason is not kept
    grant = await hub.scalar("SELECT id FROM consent_grants WHERE case_id = :id", id=her)
    withdrawn = await hub.gql(
        OWNER,
        "mutation($id: ID!, $r: String!) { withdrawConsent(consentId: $id, reason: $r) { id } }",
        {"id": grant, "r": planted("Thornbury withdrew after the erasure")},
    )
    assert not withdrawn.errors, withdrawn.errors
    assert (
        await hub.scalar("SELECT COUNT(*) FROM keystore.case_keys WHERE case_id = :id", id=her) == 0
    )
    # while the same writes about the other case go through
    fine = await hub.gql(OWNER, STATUS_NOTE, {"id": other, "note": note})
    assert not fine.errors, fine.errors
    assert fine.data["updateCaseStatus"]["status"] == "IN_CARE"
    assert not (await refer(hub, other, "write-referral-02")).errors
