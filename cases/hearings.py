"""Hearings of a legal case: date, court, whether the survivors' transport and
accommodation were provided, and a sealed outcome note (LEGAL), recorded by the legal aid
organisation while the case is before the court."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.case_keys import case_cipher
from cases.justice import (
    bad,
    check_court,
    check_note,
    load_legal_case,
    record_step,
    roles_of,
)
from cases.justice_models import Hearing, LegalCase
from cases.justice_rules import LEGAL_CASE_WORKFLOW, LegalCaseStatus
from cases.paging import check_idempotency_key, fingerprint, once
from cases.workflow import Role
from orgs.principal import Principal
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher
from store.types import utcnow

S = LegalCaseStatus


@dataclass(frozen=True, slots=True)
class NewHearing:
    held_at: datetime
    court: str
    transport_provided: bool
    accommodation_provided: bool
    idempotency_key: str
    outcome_note: str | None = None


HEARING_STAGES = frozenset({S.COURT})


async def record_hearing(
    db: Database, actor: Principal, cipher: FieldCipher, legal_id: str, new: NewHearing
) -> Hearing:
    """The legal aid organisation records a hearing while the case is before the court.
    Idempotent by key within the legal case: a retry returns the hearing first recorded."""
    court = check_court(new.court)
    note = check_note(new.outcome_note)
    if new.held_at.tzinfo is None:
        raise bad("date must carry a time zone")
    key = check_idempotency_key(new.idempotency_key)
    digest = fingerprint(
        [
            legal_id,
            new.held_at.isoformat(),
            court,
            new.transport_provided,
            new.accommodation_provided,
            note,
        ]
    )

    async def existing(session: AsyncSession) -> Hearing | None:
        await load_legal_case(session, actor, legal_id)
        found: Hearing | None = await session.scalar(
            select(Hearing).where(Hearing.legal_case_id == legal_id, Hearing.idempotency_key == key)
        )
        return found

    return await once(
        db,
        existing,
        lambda: _record_hearing(db, actor, cipher, legal_id, new, court, note, key, digest),
        digest,
        "hearing",
    )


async def _record_hearing(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    legal_id: str,
    new: NewHearing,
    court: str,
    note: str | None,
    key: str,
    digest: str,
) -> Hearing:
    async with db.write() as session:
        legal = await load_legal_case(session, actor, legal_id)
        roles = roles_of(legal, actor.organization_id)
        if Role.RECEIVER not in roles:
            raise HubError(ErrorCode.FORBIDDEN, "only the legal aid organisation records hearings")
        if legal.status not in HEARING_STAGES:
            raise LEGAL_CASE_WORKFLOW.refusal(
                legal.status,
                roles,
                "Cannot record a hearing: this legal case "
                + LEGAL_CASE_WORKFLOW.state_words(legal.status),
            )
        hearing_id = str(uuid.uuid4())
        hearing = Hearing(
            id=hearing_id,
            legal_case_id=legal.id,
            held_at=new.held_at,
            court=court,
            transport_provided=new.transport_provided,
            accommodation_provided=new.accommodation_provided,
            outcome_note_sealed=(await case_cipher(session, cipher, legal.id)).seal(
                note, table="legal_case_hearings", column="outcome_note", row_id=hearing_id
            )
            if note
            else None,
            recorded_by_organization_id=actor.organization_id or "",
            recorded_at=utcnow(),
            idempotency_key=key,
            request_fingerprint=digest,
        )
        session.add(hearing)
        await session.flush()
        await record_step(
            session,
            actor,
            legal,
            "LEGAL_HEARING_RECORDED",
            "legal_case.hearing",
            {"hearing": hearing_id, "at": new.held_at.isoformat()},
            hearingId=hearing_id,
        )
    return hearing


async def record_hearing_outcome(
    db: Database, actor: Principal, cipher: FieldCipher, hearing_id: str, outcome_note: str
) -> LegalCase:
    """The outcome of a hearing recorded ahead of its date, once, by the legal aid
    organisation, while the legal case is not closed."""
    note = check_note(outcome_note)
    if note is None:
        raise bad("outcomeNote: say what happened")
    async with db.write() as session:
        hearing = await session.get(Hearing, hearing_id)
        if hearing is None:
            raise not_found("hearing")
        try:
            legal = await load_legal_case(session, actor, hearing.legal_case_id)
        except HubError:
            raise not_found("hearing") from None
        roles = roles_of(legal, actor.organization_id)
        if Role.RECEIVER not in roles:
            raise HubError(ErrorCode.FORBIDDEN, "only the legal aid organisation records hearings")
        if legal.status in LEGAL_CASE_WORKFLOW.final:
            raise LEGAL_CASE_WORKFLOW.refusal(
                legal.status,
                roles,
                "Cannot record a hearing's outcome: this legal case "
                + LEGAL_CASE_WORKFLOW.state_words(legal.status),
            )
        result = await session.execute(
            update(Hearing)
            .where(Hearing.id == hearing.id, Hearing.outcome_note_sealed.is_(None))
            .values(
                outcome_note_sealed=(await case_cipher(session, cipher, legal.id)).seal(
                    note, table="legal_case_hearings", column="outcome_note", row_id=hearing.id
                ),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise HubError(ErrorCode.CONFLICT, "this hearing's outcome is already recorded")
        await record_step(
            session,
            actor,
            legal,
            "LEGAL_HEARING_OUTCOME_RECORDED",
            "legal_case.hearing_outcome",
            {"hearing": hearing.id},
            hearingId=hearing.id,
        )
    return legal
