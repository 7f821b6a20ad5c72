"""Key rotation reaches what legal cases and documents seal: hearing notes, reasons for
ending a legal case, and document content are re-sealed under the newest data key, bound to
the same place, and open to the same words and bytes."""

from __future__ import annotations

import base64
import os

from sqlalchemy import text

from cases.case_keys import load_case_keys
from cases.reseal import reseal_all
from store.case_keys import open_sealed
from store.sealed import FieldCipher
from tests.api.justice_support import HEARING, LEGAL_AID, UPDATE, opened, step, survivor_case
from tests.api.test_documents import PDF, upload
from tests.marker_watch import planted
from tests.network import RunningHub


async def test_rotation_reseals_hearing_notes_reasons_and_documents(hub: RunningHub) -> None:
    case_id = await survivor_case(hub, "ccpcr-shelter", planted("Sok Dara"))
    lid = (await opened(hub, "ccpcr-shelter", [case_id], "legal-reseal-01"))["id"]
    for status in ("INVESTIGATION", "COURT"):
        await step(hub, LEGAL_AID, UPDATE, {"id": lid, "status": status}, "updateLegalCase")
    note = planted("the captain denied everything")
    hearing = {
        "date": "2026-11-20T09:00:00Z",
        "court": "Koh Kong Provincial Court",
        "transportProvided": True,
        "accommodationProvided": True,
        "outcomeNote": note,
        "idempotencyKey": "hearing-reseal-1",
    }
    await step(hub, LEGAL_AID, HEARING, {"id": lid, "input": hearing}, "recordHearing")
    reason = planted("the survivors asked to stop")
    await step(
        hub, LEGAL_AID, UPDATE, {"id": lid, "status": "CLOSED", "reason": reason}, "updateLegalCase"
    )
    sent = await upload(
        hub,
        "ccpcr-shelter",
        PDF,
        "doc-reseal-0001",
        subjectType="CASE",
        subjectId=case_id,
        category="EVIDENCE",
    )
    assert sent.status_code == 201, sent.text

    _, keys = hub.settings.data_key_ring
    rotated = FieldCipher({**keys, "k-next": os.urandom(32)}, "k-next")
    assert await reseal_all(hub.db, rotated) > 0

    async with hub.db.read() as session:
        (hearing_id, sealed_note) = (
            await session.execute(text("SELECT id, outcome_note_sealed FROM legal_case_hearings"))
        ).one()
        change = (
            await session.execute(
                text("SELECT id, note_sealed FROM legal_case_changes WHERE note_sealed IS NOT NULL")
            )
        ).one()
        document = (
            await session.execute(text("SELECT id, key_id, content_sealed FROM documents"))
        ).one()
        wrapped = (
            await session.execute(
                text("SELECT wrapped FROM keystore.case_keys WHERE case_id IN (:c, :l)"),
                {"c": case_id, "l": lid},
            )
        ).all()
        opened_keys = await load_case_keys(session, rotated, [case_id, lid])
    # The values stay under their case's and legal case's keys; rotation re-wrapped the keys.
    for envelope in (sealed_note, change[1], document[2]):
        assert envelope.startswith("c1."), envelope[:12]
    assert document[1] == "c1"
    assert len(wrapped) == 2 and all(w.startswith("v1.k-next.") for (w,) in wrapped)
    legal_key, case_key = opened_keys[lid], opened_keys[case_id]
    place = {"table": "legal_case_hearings", "column": "outcome_note", "row_id": hearing_id}
    assert open_sealed(rotated, legal_key, sealed_note, **place) == note
    assert (
        open_sealed(
            rotated,
            legal_key,
            change[1],
            table="legal_case_changes",
            column="note",
            row_id=change[0],
        )
        == reason
    )
    content = open_sealed(
        rotated, case_key, document[2], table="documents", column="content", row_id=document[0]
    )
    assert base64.b64decode(content) == PDF
