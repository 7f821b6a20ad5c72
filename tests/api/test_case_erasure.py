"""Erasing a survivor's data: at her request through the owner, or when retention runs out.

After an erasure nothing she told anyone can be read back, by anyone, from the live database
or from the ciphertext copied out of it before: her case's key is gone. Ids, statuses and
the hash chains stay, and `referral-hub audit verify` still passes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from cases.deadlines import DeadlinePolicy
from cases.models import Case
from gateway.app import data_cipher
from gateway.scheduler import Scheduler
from store.case_keys import open_sealed, unwrap
from store.key_store import key_store_path
from store.sealed import SealError
from store.types import utcnow
from tests.api.audit_support import cli
from tests.marker_watch import planted
from tests.network import RunningHub, backend

OWNER = "ccpcr-koh-kong"
PARTNER = "ccpcr-shelter"
STRANGER = "adhoc"
NAME = planted("Sreymom Quarrington-Vath ស្រីមុំ")
PHONE = planted("+855 97 444 0311")
HEALTH = planted("Erasable-condition 5520 in care")
NOTE = planted("found near the Quarrington pier, asks for her aunt")
REASON = planted("Sreymom asked in person on 3 March to be forgotten")
SURVIVOR: dict[str, Any] = {"fullName": NAME, "phone": PHONE, "healthNotes": HEALTH}
SECRETS = [NAME, "ស្រីមុំ", "Quarrington", PHONE, "Erasable-condition", "asked in person"]

CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }"
STATUS = "mutation($id: ID!, $s: CaseStatus!) { updateCaseStatus(caseId: $id, status: $s) { id } }"
ERASE = (
    "mutation($input: EraseCaseDataInput!) "
    "{ eraseCaseData(input: $input) { caseId kind erasedAt } }"
)
READ = (
    "query($id: ID!) { case(id: $id) { id status fullName phone healthNotes "
    "withheld { field reason } } }"
)


async def open_case(hub: RunningHub, survivor: dict[str, Any] | None = None) -> str:
    result = await hub.gql(
        OWNER,
        CREATE,
        {
            "input": {
                "ageBand": "AGE_18_20",
                "sex": "FEMALE",
                "survivor": survivor or SURVIVOR,
                "note": NOTE,
            }
        },
    )
    assert not result.errors, result.errors
    case_id = str(result.data["createCase"]["id"])
    consent = {
        "caseId": case_id,
        "grantor": "SURVIVOR",
        "method": "WRITTEN",
        "purposes": ["SERVICE_REFERRAL"],
        "categories": ["IDENTITY", "CONTACT", "HEALTH"],
        "recipientOrganizationIds": [hub.members[PARTNER].organization_id],
    }
    granted = await hub.gql(OWNER, CONSENT, {"input": consent})
    assert not granted.errors, granted.errors
    return case_id


async def erase(hub: RunningHub, case_id: str, key: str, who: str = OWNER, **kw: Any) -> Any:
    payload = {"caseId": case_id, "reason": REASON, "idempotencyKey": key, **kw}
    return await hub.gql(who, ERASE, {"input": payload})


async def sealed_values(hub: RunningHub, case_id: str) -> list[str]:
    """Every envelope about the case as a backup taken now would hold them."""
    async with hub.db.read() as session:
        rows = await session.execute(
            text(
                "SELECT sealed FROM case_fields WHERE case_id = :id "
                "UNION ALL SELECT wrapped FROM keystore.case_keys WHERE case_id = :id "
                "UNION ALL SELECT note FROM case_status_changes "
                "WHERE case_id = :id AND note IS NOT NULL"
            ),
            {"id": case_id},
        )
        return [r[0] for r in rows]


async def counts(hub: RunningHub, case_id: str) -> tuple[int, int, int, int]:
    return (
        await hub.scalar("SELECT COUNT(*) FROM case_fields WHERE case_id = :id", id=case_id),
        await hub.scalar("SELECT COUNT(*) FROM keystore.case_keys WHERE case_id = :id", id=case_id),
        await hub.scalar("SELECT COUNT(*) FROM case_erasures WHERE case_id = :id", id=case_id),
        await hub.scalar(
            "SELECT COUNT(*) FROM audit WHERE action = 'case.erase' AND subject_id = :id",
            id=case_id,
        ),
    )


def database_bytes(hub: RunningHub) -> bytes:
    database = make_url(hub.settings.database_url).database
    assert database is not None
    keys = key_store_path(database)
    files = [Path(database), Path(f"{database}-wal"), Path(keys), Path(f"{keys}-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def quoted(table: str) -> str:
    schema, _, name = table.partition(".")
    return f'"{schema}"."{name}"'


async def text_columns_holding(hub: RunningHub, needles: list[str]) -> list[tuple[str, str]]:
    """On any backend: which (table, column) still holds one of ``needles``."""
    async with hub.db.read() as session:
        if backend() == "sqlite":
            tables = [
                f"{schema}.{r[0]}"
                for schema in ("main", "keystore")
                for r in await session.execute(
                    text(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")
                )
            ]
            columns = [
                (table, r[1])
                for table in tables
                for r in await session.execute(
                    text(f'PRAGMA {table.split(".")[0]}.table_info("{table.split(".")[1]}")')
                )
            ]
        else:
            columns = [
                (r[0], r[1])
                for r in await session.execute(
                    text(
                        "SELECT table_schema || '.' || table_name, column_name "
                        "FROM information_schema.columns "
                        "WHERE table_schema IN (current_schema(), 'keystore')"
                    )
                )
            ]
        # The keys live in the key store, apart from the data (store/key_store.py).
        assert ("keystore.case_keys", "wrapped") in columns
        found = []
        for table, column in columns:
            for needle in needles:
                hits = await session.scalar(
                    text(
                        f"SELECT COUNT(*) FROM {quoted(table)} "
                        f'WHERE CAST("{column}" AS TEXT) LIKE :s'
                    ),
                    {"s": f"%{needle}%"},
                )
                if hits:
                    found.append((table, column))
        return found


async def test_an_owner_erases_a_survivors_data_at_her_request(
    hub: RunningHub, tmp_path: Path
) -> None:
    # Given an open case, read by the partner her consent covers
    case_id = await open_case(hub)
    seen = await hub.gql(PARTNER, READ, {"id": case_id})
    assert seen.data["case"]["fullName"] == NAME, seen.body
    backup = await sealed_values(hub, case_id)
    assert len(backup) == 5 and any(v.startswith("c1.") for v in backup)
    cipher = data_cipher(hub.settings)

    # When the owner erases it (an open case: it is her right whatever the case's state)
    result = await erase(hub, case_id, "erase-request-0001")

    # Then the erasure is answered and recorded once, in the audit log too
    assert not result.errors, result.errors
    assert result.data["eraseCaseData"]["caseId"] == case_id
    assert result.data["eraseCaseData"]["kind"] == "REQUEST"
    assert await counts(hub, case_id) == (0, 0, 1, 1)
    erased_events = await hub.scalar(
        "SELECT COUNT(*) FROM events WHERE type = 'CASE_DATA_ERASED' AND subject_id = :id",
        id=case_id,
    )
    assert erased_events == 1
    # and every reader gets the case's id and status, and every field withheld as ERASED
    for member in (OWNER, PARTNER):
        read = await hub.gql(member, READ, {"id": case_id})
        assert not read.errors, read.errors
        case = read.data["case"]
        assert (case["id"], case["status"]) == (case_id, "OPEN")
        assert case["fullName"] is None and case["phone"] is None and case["healthNotes"] is None
        assert {w["field"] for w in case["withheld"]} >= {"fullName", "phone", "healthNotes"}
        assert {w["reason"] for w in case["withheld"]} == {"ERASED"}
        # also when only the withheld list is asked for
        only = await hub.gql(
            member, "query($id: ID!) { case(id: $id) { withheld { reason } } }", {"id": case_id}
        )
        assert {w["reason"] for w in only.data["case"]["withheld"]} == {"ERASED"}, only.body
    # and nothing copied out before the erasure opens with the hub's keys and today's database
    async with hub.db.read() as session:
        remaining = (
            await session.execute(
                text("SELECT wrapped FROM keystore.case_keys WHERE case_id = :id"), {"id": case_id}
            )
        ).all()
    assert remaining == []
    for envelope in backup:
        if envelope.startswith("c1."):
            with pytest.raises(SealError):
                open_sealed(
                    cipher, None, envelope, table="case_fields", column="fullName", row_id=case_id
                )
    # (the wrapped key itself did open before: the test would notice a key that never worked)
    wrapped = [v for v in backup if v.startswith("v1.") and cipher.key_id(v)]
    assert unwrap(cipher, wrapped[0], case_id) is not None
    # and no copy of her values, her key or the reason is left in any column
    assert await text_columns_holding(hub, [*SECRETS, *backup]) == []
    # and, on SQLite, not in the database file or its write-ahead log either
    if backend() == "sqlite":
        raw = database_bytes(hub)
        assert hub.members[OWNER].name.encode() in raw
        for needle in [*SECRETS, *backup]:
            assert needle.encode() not in raw, needle[:12]
    # and the audit and disclosure chains still verify
    verified = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert verified.code == 0, verified.err


async def test_a_retried_erasure_answers_the_same_and_a_reused_key_is_a_conflict(
    hub: RunningHub,
) -> None:
    first, second = await open_case(hub), await open_case(hub)
    done = await erase(hub, first, "erase-retry-0001")
    assert not done.errors, done.errors

    # A retry with the same key answers with the first erasure
    again = await erase(hub, first, "erase-retry-0001")
    assert again.data == done.data and not again.errors
    # The key used for another case is a conflict, and that case keeps its data
    reused = await erase(hub, second, "erase-retry-0001")
    assert reused.codes == ["CONFLICT"]
    assert (await hub.gql(OWNER, READ, {"id": second})).data["case"]["fullName"] == NAME
    # A second erasure of an erased case under a new key is a conflict too
    twice = await erase(hub, first, "erase-retry-0002")
    assert twice.codes == ["CONFLICT"]
    assert await counts(hub, first) == (0, 0, 1, 1)
    assert await counts(hub, second) == (3, 1, 0, 0)


@pytest.mark.parametrize(
    ("who", "change", "code"),
    [
        (PARTNER, {}, "FORBIDDEN"),  # a party her consent covers, not the owner
        (STRANGER, {}, "NOT_FOUND"),  # not a party: as if the case did not exist
        (OWNER, {"reason": "   "}, "BAD_USER_INPUT"),
        (OWNER, {"idempotencyKey": "short"}, "BAD_USER_INPUT"),
        (OWNER, {"caseId": "00000000-0000-0000-0000-000000000000"}, "NOT_FOUND"),
    ],
)
async def test_refused_erasures_change_nothing(
    hub: RunningHub, who: str, change: dict[str, str], code: str
) -> None:
    case_id = await open_case(hub)
    refused = await erase(hub, case_id, "erase-refused-01", who=who, **change)
    assert refused.codes == [code], refused.body
    assert refused.data is None or refused.data.get("eraseCaseData") is None
    assert REASON not in str(refused.body)
    assert await counts(hub, case_id) == (3, 1, 0, 0)
    assert (await hub.gql(OWNER, READ, {"id": case_id})).data["case"]["fullName"] == NAME


async def test_erasing_needs_the_cases_write_scope(hub: RunningHub) -> None:
    case_id = await open_case(hub)
    reader = await hub.token(OWNER, scope="cases:read")
    payload = {"caseId": case_id, "reason": REASON, "idempotencyKey": "erase-scope-0001"}
    refused = await hub.gql(None, ERASE, {"input": payload}, token=reader)
    assert refused.codes == ["FORBIDDEN"]
    assert await counts(hub, case_id) == (3, 1, 0, 0)


async def test_the_scheduler_erases_cases_closed_longer_than_the_retention_period(
    hub: RunningHub, tmp_path: Path
) -> None:
    # Given a case closed 40 days ago, one closed 10 days ago and one open for 40 days
    old_closed, new_closed, old_open = [await open_case(hub) for _ in range(3)]
    for case_id in (old_closed, new_closed):
        closed = await hub.gql(OWNER, STATUS, {"id": case_id, "s": "CLOSED"})
        assert not closed.errors, closed.errors
    async with hub.db.write() as session:
        for case_id, days in ((old_closed, 40), (new_closed, 10), (old_open, 40)):
            await session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(updated_at=utcnow() - timedelta(days=days))
            )

    # When the scheduler runs with a 30-day retention period
    scheduler = Scheduler(
        hub.db,
        data_cipher(hub.settings),
        30,
        DeadlinePolicy(remind_before=timedelta(hours=1), expire_after=timedelta(days=1)),
        retention=timedelta(days=30),
    )
    assert await scheduler.tick()

    # Then only the case closed past the period lost its survivor data, audited as retention
    assert await counts(hub, old_closed) == (0, 0, 1, 1)
    assert await counts(hub, new_closed) == (3, 1, 0, 0)
    assert await counts(hub, old_open) == (3, 1, 0, 0)
    kind = await hub.scalar("SELECT kind FROM case_erasures WHERE case_id = :id", id=old_closed)
    assert kind == "RETENTION"
    read = await hub.gql(PARTNER, READ, {"id": old_closed})
    assert read.data["case"]["status"] == "CLOSED" and read.data["case"]["fullName"] is None
    assert (await hub.gql(PARTNER, READ, {"id": new_closed})).data["case"]["fullName"] == NAME
    # and a second pass finds nothing more to do
    assert await scheduler.tick()
    assert await hub.scalar("SELECT COUNT(*) FROM case_erasures") == 1
    verified = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert verified.code == 0, verified.err


async def test_values_sealed_under_the_hub_key_before_case_keys_still_open(
    hub: RunningHub,
) -> None:
    # Given a case whose fields were sealed under the hub key (as before case keys existed)
    case_id = await open_case(hub)
    cipher = data_cipher(hub.settings)
    phone = cipher.seal('"' + PHONE + '"', table="case_fields", column="phone", row_id=case_id)
    async with hub.db.write() as session:
        await session.execute(
            text("UPDATE case_fields SET sealed = :s WHERE case_id = :id AND field = 'phone'"),
            {"s": phone, "id": case_id},
        )
    # Then both kinds open for the owner
    read = await hub.gql(OWNER, READ, {"id": case_id})
    assert (read.data["case"]["fullName"], read.data["case"]["phone"]) == (NAME, PHONE)
    # and an erasure removes the hub-sealed value too
    assert not (await erase(hub, case_id, "erase-legacy-0001")).errors
    assert await text_columns_holding(hub, [phone]) == []


REFER = "mutation($input: SendReferralInput!) { sendReferral(input: $input) { id reason } }"
REFERRAL = "query($id: ID!) { referral(id: $id) { id status reason notes } }"


async def test_free_texts_about_the_case_are_cleared_and_still_read_without_error(
    hub: RunningHub,
) -> None:
    # Given a referral about the case, its reason (a text that may not be empty) sealed
    case_id = await open_case(hub)
    reason = planted("referred because Quarrington-Vath fears her recruiter")
    sent = await hub.gql(
        OWNER,
        REFER,
        {
            "input": {
                "caseId": case_id,
                "receivingOrganizationId": hub.members[PARTNER].organization_id,
                "services": ["PSYCHOSOCIAL"],
                "urgency": "URGENT",
                "reason": reason,
                "notes": NOTE,
                "idempotencyKey": "erase-referral-01",
            }
        },
    )
    assert not sent.errors, sent.errors
    referral_id = sent.data["sendReferral"]["id"]
    assert sent.data["sendReferral"]["reason"] == reason
    before = await hub.scalar("SELECT reason_sealed FROM referrals WHERE id = :id", id=referral_id)

    # When the case is erased
    assert not (await erase(hub, case_id, "erase-referral-02")).errors

    # Then the referral keeps its id and status, and its texts read back empty, not as errors
    read = await hub.gql(OWNER, REFERRAL, {"id": referral_id})
    assert not read.errors, read.errors
    assert read.data["referral"]["id"] == referral_id and read.data["referral"]["status"]
    assert read.data["referral"]["reason"] in ("", None)
    assert read.data["referral"]["notes"] is None
    assert await text_columns_holding(hub, [before, "fears her recruiter"]) == []
