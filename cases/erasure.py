"""Erasing a case's survivor data: at her request through the owner, or after retention.

Crypto-shredding: the case's data key is deleted, so every copy of the values sealed under
it stops opening. Every value bound to the case (survivor fields, free texts, documents) is
sealed under that key; the live copies are deleted too (case fields) or cleared (the rest,
older hub-key values included), the notes of legal cases she is linked to are cleared (they
are written about every linked survivor at once), and on SQLite the write-ahead log is
checkpointed and truncated so the old pages leave the files. Ids, statuses, history rows
and the audit and disclosure chains stay: erasure removes what was said about her, not
that the work happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.erasure_models import CaseErasure, CaseKeyRow
from cases.justice_models import Hearing, LegalCaseChange, LegalCaseLink
from cases.links import forget_case
from cases.models import Case, CaseField
from cases.paging import check_idempotency_key
from cases.reseal import SEALED_COLUMNS, CaseBinding
from cases.rules import CaseStatus, check_note
from cases.service import case_audience, load_owned_case
from notifications.outbox import emit
from orgs.principal import Principal
from store.audit import record_audit
from store.case_keys import forget_keys
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.key_store import SCHEMA as KEY_SCHEMA
from store.sealed import FieldCipher
from store.types import utcnow


class ErasureKind(StrEnum):
    REQUEST = "REQUEST"
    RETENTION = "RETENTION"


@dataclass(frozen=True, slots=True)
class Erasure:
    case_id: str
    kind: ErasureKind
    at: datetime


def _erasure(row: CaseErasure) -> Erasure:
    return Erasure(case_id=row.case_id, kind=ErasureKind(row.kind), at=row.at)


def check_reason(reason: str) -> str:
    """A reason is required; it is free text, so it is sealed and never logged."""
    cleaned = check_note(reason)
    if cleaned is None:
        raise HubError(ErrorCode.BAD_USER_INPUT, "reason is required")
    return cleaned


async def _clear_sealed(session: AsyncSession, cipher: FieldCipher, case_id: str) -> None:
    """Clear every value about the case in every registered sealed column.

    Case fields are deleted (their key is gone too). Other values, sealed under the hub key,
    are set to NULL, or where the column may not be NULL to an empty text sealed in place,
    so that readers see an empty text instead of an error."""
    for spec in SEALED_COLUMNS:
        if not isinstance(spec.case, CaseBinding):
            continue
        model = spec.column.class_
        if model is CaseField:
            await session.execute(delete(CaseField).where(CaseField.case_id == case_id))
            continue
        rows = await session.scalars(
            select(model).where(spec.case.rows_of(case_id), spec.column.is_not(None))
        )
        nullable = bool(spec.column.property.columns[0].nullable)
        for row in rows:
            place = {"table": spec.table, "column": spec.label(row), "row_id": spec.row_id(row)}
            setattr(row, spec.column.key, None if nullable else cipher.seal("", **place))
    await session.flush()


async def _clear_legal_notes(session: AsyncSession, case_id: str) -> None:
    """A legal case may link many survivors; its notes (status changes, hearing outcomes)
    are written about all of them at once and may name her, sealed under the legal case's
    own key (kept in the key store under the legal case's id). Her erasure shreds that key
    and clears the notes for every linked survivor: one survivor's words must not stay
    readable under a key that another survivor's case keeps alive. Statuses, dates and
    courts stay."""
    linked = select(LegalCaseLink.legal_case_id).where(LegalCaseLink.case_id == case_id)
    # Their key goes too, so no copy of them opens anywhere (backups included); later
    # notes get a fresh key.
    shredded = await session.scalars(
        delete(CaseKeyRow).where(CaseKeyRow.case_id.in_(linked)).returning(CaseKeyRow.case_id)
    )
    forget_keys(set(shredded))
    await session.execute(
        update(LegalCaseChange)
        .where(LegalCaseChange.legal_case_id.in_(linked), LegalCaseChange.note_sealed.is_not(None))
        .values(note_sealed=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Hearing)
        .where(Hearing.legal_case_id.in_(linked), Hearing.outcome_note_sealed.is_not(None))
        .values(outcome_note_sealed=None)
        .execution_options(synchronize_session=False)
    )


async def _destroy(
    session: AsyncSession,
    cipher: FieldCipher,
    case: Case,
    erasure: CaseErasure,
    actor: Principal | None,
) -> None:
    """The erasure itself, inside the caller's transaction: key, values, record, event, audit."""
    await session.execute(delete(CaseKeyRow).where(CaseKeyRow.case_id == case.id))
    forget_keys({case.id})  # readers cannot reach it without the row; it leaves memory too
    await _clear_sealed(session, cipher, case.id)
    await _clear_legal_notes(session, case.id)
    await forget_case(session, case.id)
    session.add(erasure)
    await emit(
        session,
        topic="CASE",
        type="CASE_DATA_ERASED",
        subject_id=case.id,
        actor_organization_id=case.owner_organization_id,
        audience=await case_audience(session, case),
        payload={"caseId": case.id, "status": case.status, "kind": erasure.kind},
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id if actor else None,
        actor_client_id=actor.client_id if actor else None,
        action="case.erase",
        subject_type="Case",
        subject_id=case.id,
        detail={"kind": erasure.kind},
        request_id=actor.request_id if actor else None,
        at=erasure.at,
    )


async def _settle_files(db: Database) -> None:
    """Make the deleted key's bytes leave the key store's files (and the freed values the
    database's). SQLite keeps old page images in the write-ahead logs until a checkpoint:
    move them into the (secure_delete) files and truncate the logs. PostgreSQL keeps dead
    rows in the table's pages: ``VACUUM FULL`` rewrites the (small) key table anew."""
    async with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            await connection.execute(text(f"PRAGMA {KEY_SCHEMA}.wal_checkpoint(TRUNCATE)"))
            await connection.execute(text("PRAGMA main.wal_checkpoint(TRUNCATE)"))
        else:
            vacuum = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await vacuum.execute(text(f"VACUUM FULL {KEY_SCHEMA}.case_keys"))


async def erase_case_data(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    case_id: str,
    reason: str,
    idempotency_key: str,
) -> Erasure:
    """The owner erases the survivor's data at her request, open case or not: it is her right.

    A retry with the same key answers with the first erasure; the key used for another case
    is CONFLICT; a case erased already (by another request or by retention) is CONFLICT."""
    key = check_idempotency_key(idempotency_key)
    cleaned = check_reason(reason)
    org = actor.organization_id
    async with db.write() as session:
        earlier = await session.scalar(
            select(CaseErasure).where(
                CaseErasure.organization_id == org, CaseErasure.idempotency_key == key
            )
        )
        if earlier is not None:
            if earlier.case_id != case_id:
                raise HubError(ErrorCode.CONFLICT, "idempotencyKey was used for another case")
            return _erasure(earlier)
        case = await load_owned_case(session, actor, case_id)
        if await session.get(CaseErasure, case.id) is not None:
            raise HubError(ErrorCode.CONFLICT, "the case's data was erased already")
        now = utcnow()
        row = CaseErasure(
            case_id=case.id,
            kind=ErasureKind.REQUEST.value,
            organization_id=org,
            idempotency_key=key,
            reason_sealed=cipher.seal(
                cleaned, table="case_erasures", column="reason", row_id=case.id
            ),
            at=now,
        )
        await _destroy(session, cipher, case, row, actor)
        result = _erasure(row)
    await _settle_files(db)
    return result


async def erase_expired(
    db: Database, cipher: FieldCipher, now: datetime, retention: timedelta
) -> list[str]:
    """Erase every case closed for longer than the retention period, one case per
    transaction (an interrupted pass resumes where it stopped). Returns the case ids."""
    cutoff = now - retention
    async with db.read() as session:
        due = list(
            await session.scalars(
                select(Case.id)
                .where(
                    Case.status == CaseStatus.CLOSED.value,
                    Case.updated_at <= cutoff,
                    ~select(CaseErasure.case_id).where(CaseErasure.case_id == Case.id).exists(),
                )
                .order_by(Case.id)
            )
        )
    done = []
    for case_id in due:
        async with db.write() as session:
            case = await session.get(Case, case_id)
            # Reopened or erased since the read: leave it.
            if case is None or case.status != CaseStatus.CLOSED.value or case.updated_at > cutoff:
                continue
            if await session.get(CaseErasure, case_id) is not None:
                continue
            row = CaseErasure(case_id=case_id, kind=ErasureKind.RETENTION.value, at=now)
            await _destroy(session, cipher, case, row, None)
        done.append(case_id)
    if done:
        await _settle_files(db)
    return done
