"""Crypto-shredding reaches every copy: a backup taken before her erasure opens nothing of hers.

Everything sealed about a survivor (her fields, the free texts about her case, her documents)
is under her case's key, and the notes of a legal case she is linked to under the legal
case's key; both keys live in the key store, which data backups never copy. So after her
erasure, the hub's own keys together with a backup of the data files taken before it and
everything left in the live files cannot open one of her values, while the other survivor of
the same legal case keeps hers. Ids, statuses and the hash chains stay: `audit verify` passes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from cases.erasure import erase_expired
from cases.justice_models import Hearing, LegalCaseChange
from cases.models import Case
from cases.reseal import SEALED_COLUMNS, CaseBinding
from gateway.app import data_cipher
from store.case_keys import open_sealed
from store.key_store import key_store_path
from store.sealed import SealError
from store.types import utcnow
from tests.api.audit_support import cli
from tests.api.justice_support import (
    HEARING,
    LEGAL_AID,
    LINK,
    UPDATE,
    consent_for_legal_aid,
    opened,
    read,
    step,
    survivor_case,
)
from tests.api.test_documents import upload
from tests.marker_watch import planted
from tests.network import RunningHub, backend

SHELTER, KOH_KONG = "ccpcr-shelter", "ccpcr-koh-kong"
HER_NAME = planted("Chan Sophea Marrowfield")
HER_PHONE = planted("+855 12 771 0464")
HER_NOTE = planted("Sophea sleeps at the Marrowfield market stall")
LEGAL_NOTE = planted("the recruiter Marrowfield-Ly paid Sophea's debt")
HEARING_NOTE = planted("Sophea testified behind a screen about Marrowfield-Ly")
PASSPORT = planted("Sophea passport N0-Marrowfield-7781")
DOCUMENT = b"%PDF-1.4\n1 0 obj << /Title (" + PASSPORT.encode() + b") >> endobj\n%%EOF\n"
OTHER_NAME = planted("Pich Rithy Oakenshaw")
HER_SECRETS = [HER_NAME, HER_PHONE, HER_NOTE, LEGAL_NOTE, HEARING_NOTE, PASSPORT]

CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
ERASE = (
    "mutation($input: EraseCaseDataInput!) "
    "{ eraseCaseData(input: $input) { caseId kind erasedAt } }"
)
CASE = "query($id: ID!) { case(id: $id) { id status fullName withheld { reason } } }"
CLOSE = "mutation($id: ID!) { updateCaseStatus(caseId: $id, status: CLOSED) { id } }"


@dataclass(frozen=True, slots=True)
class Sealed:
    """One envelope as a backup holds it, and the place it is bound to."""

    envelope: str
    table: str
    column: str
    row_id: str


@dataclass(frozen=True, slots=True)
class Story:
    her: str
    other: str
    legal: str


async def her_story(hub: RunningHub) -> Story:
    """Her case with a status note and a passport scan, and a legal case linking her and
    another survivor, with a status note and a hearing outcome that speak of her."""
    created = await hub.gql(
        SHELTER,
        CREATE,
        {
            "input": {
                "ageBand": "AGE_18_20",
                "sex": "FEMALE",
                "survivor": {"fullName": HER_NAME, "phone": HER_PHONE},
                "note": HER_NOTE,
            }
        },
    )
    assert not created.errors, created.errors
    her = str(created.data["createCase"]["id"])
    await consent_for_legal_aid(hub, her, SHELTER)
    other = await survivor_case(hub, KOH_KONG, OTHER_NAME)
    scan = await upload(
        hub,
        SHELTER,
        DOCUMENT,
        "shred-doc-0001",
        category="IDENTITY_PAPERS",
        subjectType="CASE",
        subjectId=her,
    )
    assert scan.status_code == 201, scan.text
    legal = (await opened(hub, SHELTER, [her], "shred-legal-0001"))["id"]
    await step(hub, LEGAL_AID, LINK, {"id": legal, "case": other}, "linkCaseToLegalCase")
    moved = {"id": legal, "status": "INVESTIGATION", "reason": LEGAL_NOTE}
    await step(hub, LEGAL_AID, UPDATE, moved, "updateLegalCase")
    await step(hub, LEGAL_AID, UPDATE, {"id": legal, "status": "COURT"}, "updateLegalCase")
    hearing = {
        "date": "2026-11-20T09:00:00+07:00",
        "court": "Koh Kong Provincial Court",
        "transportProvided": True,
        "accommodationProvided": False,
        "outcomeNote": HEARING_NOTE,
        "idempotencyKey": "shred-hearing-0001",
    }
    await step(hub, LEGAL_AID, HEARING, {"id": legal, "input": hearing}, "recordHearing")
    return Story(her, other, legal)


async def envelopes_about(hub: RunningHub, story: Story) -> list[Sealed]:
    """Every envelope about her, found through the sealed-column registry, and the legal
    case's notes: what a backup of the data taken now holds of her."""
    found: list[Sealed] = []
    async with hub.db.read() as session:
        for spec in SEALED_COLUMNS:
            if not isinstance(spec.case, CaseBinding):
                continue
            rows = await session.scalars(
                select(spec.column.class_).where(
                    spec.case.rows_of(story.her), spec.column.is_not(None)
                )
            )
            found += [
                Sealed(getattr(r, spec.column.key), spec.table, spec.label(r), spec.row_id(r))
                for r in rows
            ]
        for change in await session.scalars(
            select(LegalCaseChange).where(
                LegalCaseChange.legal_case_id == story.legal,
                LegalCaseChange.note_sealed.is_not(None),
            )
        ):
            found.append(Sealed(change.note_sealed or "", "legal_case_changes", "note", change.id))
        for hearing in await session.scalars(
            select(Hearing).where(Hearing.legal_case_id == story.legal)
        ):
            sealed = hearing.outcome_note_sealed or ""
            found.append(Sealed(sealed, "legal_case_hearings", "outcome_note", hearing.id))
    return found


async def wrapped_keys(hub: RunningHub, ids: list[str]) -> list[str]:
    async with hub.db.read() as session:
        rows = await session.execute(
            text("SELECT wrapped FROM keystore.case_keys WHERE case_id IN (:a, :b)"),
            {"a": ids[0], "b": ids[1]},
        )
        return [str(r[0]) for r in rows]


def data_files(hub: RunningHub) -> list[Path]:
    database = make_url(hub.settings.database_url).database
    assert database is not None
    return [Path(database), Path(f"{database}-wal")]


def key_store_files(hub: RunningHub) -> list[Path]:
    keys = key_store_path(str(data_files(hub)[0]))
    return [Path(keys), Path(f"{keys}-wal")]


def take_backup(hub: RunningHub, into: Path) -> list[Path]:
    """A plain copy of the data files, as a file-level backup of the database holds them."""
    into.mkdir()
    copies = []
    for source in data_files(hub):
        if source.exists():
            copies.append(into / source.name)
            shutil.copyfile(source, copies[-1])
    return copies


def raw(files: list[Path]) -> bytes:
    return b"".join(f.read_bytes() for f in files if f.exists())


async def assert_shredded(hub: RunningHub, story: Story, before: list[Sealed]) -> None:
    """With the hub's keys and whatever the key store holds now, nothing of hers opens."""
    cipher = data_cipher(hub.settings)
    assert await wrapped_keys(hub, [story.her, story.legal]) == []
    for sealed in before:
        assert sealed.envelope.startswith("c1."), (sealed.table, sealed.column)
        with pytest.raises(SealError):
            open_sealed(
                cipher,
                None,
                sealed.envelope,
                table=sealed.table,
                column=sealed.column,
                row_id=sealed.row_id,
            )
    # The live rows hold none of those envelopes any more (cleared, or deleted).
    after = {s.envelope for s in await envelopes_about(hub, story)}
    assert after.isdisjoint({s.envelope for s in before})
    # Every reader sees her case erased; the other survivor of the legal case keeps his.
    seen = await hub.gql(SHELTER, CASE, {"id": story.her})
    assert seen.data["case"]["fullName"] is None, seen.body
    assert {w["reason"] for w in seen.data["case"]["withheld"]} == {"ERASED"}
    legal = await read(hub, LEGAL_AID, story.legal)
    assert not legal.errors, legal.errors
    names = {s["caseId"]: s["case"]["fullName"] for s in legal.data["legalCase"]["survivors"]}
    assert names == {story.her: None, story.other: OTHER_NAME}
    assert [h["outcomeNote"] for h in legal.data["legalCase"]["hearings"]] == [None]
    assert all(c["note"] is None for c in legal.data["legalCase"]["history"])


async def test_a_backup_taken_before_her_erasure_opens_nothing_of_hers(
    hub: RunningHub, tmp_path: Path
) -> None:
    # Given her story across the hub, and a backup of the data files taken now
    story = await her_story(hub)
    before = await envelopes_about(hub, story)
    tables = {s.table for s in before}
    assert {"case_fields", "case_status_changes", "documents"} <= tables
    assert {"legal_case_changes", "legal_case_hearings"} <= tables
    keys = await wrapped_keys(hub, [story.her, story.legal])
    assert len(keys) == 2  # her case's key and the legal case's key
    sqlite = backend() == "sqlite"
    if sqlite:
        async with hub.db.engine.connect() as connection:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        backup = take_backup(hub, tmp_path / "backup")
        held = raw(backup)
        # (the backup does hold her ciphertext: the test would see it if it opened)
        assert before[0].envelope.encode() in held
        # and no key: the key store is a file of its own
        assert not any(k.encode() in held for k in keys)
        assert all(k.encode() in raw(key_store_files(hub)) for k in keys)

    # When her owner erases her data at her request
    erased = await hub.gql(
        SHELTER,
        ERASE,
        {
            "input": {
                "caseId": story.her,
                "reason": planted("Sophea asked to be forgotten"),
                "idempotencyKey": "shred-erase-0001",
            }
        },
    )
    assert not erased.errors, erased.errors

    # Then the hub's keys, the key store and the backup together open nothing of hers
    await assert_shredded(hub, story, before)
    if sqlite:
        live = raw(data_files(hub) + key_store_files(hub))
        for needle in [*HER_SECRETS, *keys]:
            assert needle.encode() not in live, needle[:12]
        assert not any(s.encode() in raw(backup) for s in HER_SECRETS)
    # and the audit and disclosure chains still verify
    verified = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert verified.code == 0, verified.err


async def test_retention_shreds_her_values_and_the_legal_case_notes_alike(
    hub: RunningHub, tmp_path: Path
) -> None:
    story = await her_story(hub)
    before = await envelopes_about(hub, story)
    closed = await hub.gql(SHELTER, CLOSE, {"id": story.her})
    assert not closed.errors, closed.errors
    async with hub.db.write() as session:
        await session.execute(
            update(Case)
            .where(Case.id == story.her)
            .values(updated_at=utcnow() - timedelta(days=40))
        )

    done = await erase_expired(
        hub.db, data_cipher(hub.settings), utcnow(), retention=timedelta(days=30)
    )

    assert done == [story.her]
    await assert_shredded(hub, story, before)
    if backend() == "sqlite":
        live = raw(data_files(hub) + key_store_files(hub))
        for needle in HER_SECRETS:
            assert needle.encode() not in live, needle[:12]
    verified = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert verified.code == 0, verified.err
