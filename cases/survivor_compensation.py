"""Compensation per survivor of a legal case: awarded to her, then paid to her.

The legal case's own compensation (``recordCompensation``) is the court's total, visible to
every party. What each survivor was awarded and paid is about her: recorded by the legal aid
organisation, sealed, and shown to the organisation that recorded it and her case's owner;
any other party of the legal case reads it only while her consent covers it for LEGAL data
for LEGAL_AID, each such read logged as a disclosure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

import orjson
from sqlalchemy import select

from cases.access import load_grants
from cases.case_keys import case_cipher, case_ciphers
from cases.justice import load_legal_case, record_step
from cases.justice_models import LegalCase, LegalCaseLink
from cases.justice_rules import NOTE_CATEGORY, NOTE_PURPOSE, LegalCaseStatus
from cases.justice_steps import check_money
from cases.models import Case
from cases.survivor_compensation_models import SurvivorCompensation
from consent import disclosure
from consent.disclosure import Channel, DisclosureRecord
from consent.rules import Recipient, decide
from orgs.principal import Principal
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.sealed import FieldCipher
from store.types import utcnow

TABLE = "legal_case_survivor_compensations"
# A survivor's compensation is recorded once the court has judged, until the case closes.
RECORDING = frozenset(
    {
        LegalCaseStatus.JUDGMENT,
        LegalCaseStatus.COMPENSATION_AWARDED,
        LegalCaseStatus.COMPENSATION_PAID,
    }
)


class Stage(StrEnum):
    AWARDED = "AWARDED"
    PAID = "PAID"


@dataclass(frozen=True, slots=True)
class Amount:
    amount: str
    currency: str


@dataclass(frozen=True, slots=True)
class SurvivorAmounts:
    """What the reader may see of one survivor's compensation; ``withheld`` says why not."""

    awarded: Amount | None
    paid: Amount | None
    withheld: str | None = None


async def record_survivor_compensation(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    legal_id: str,
    case_id: str,
    stage: Stage,
    amount: str,
    currency: str,
) -> LegalCase:
    """By the legal aid organisation, for one linked survivor, each stage once (AWARDED
    before PAID), while the legal case is between its judgment and its closing."""
    value, code = check_money(amount, currency)
    now = utcnow()
    async with db.write() as session:
        legal = await load_legal_case(session, actor, legal_id)
        if actor.organization_id != legal.legal_aid_organization_id:
            raise HubError(
                ErrorCode.FORBIDDEN, "only the legal aid organisation records compensation"
            )
        if LegalCaseStatus(legal.status) not in RECORDING:
            raise HubError(
                ErrorCode.INVALID_TRANSITION,
                "a survivor's compensation is recorded after the judgment and before closing",
            )
        if await session.get(LegalCaseLink, (legal.id, case_id)) is None:
            raise HubError(ErrorCode.BAD_USER_INPUT, "caseId: not a case linked to this legal case")
        recorded = set(
            await session.scalars(
                select(SurvivorCompensation.stage).where(
                    SurvivorCompensation.legal_case_id == legal.id,
                    SurvivorCompensation.case_id == case_id,
                )
            )
        )
        if stage.value in recorded:
            raise HubError(ErrorCode.CONFLICT, f"{stage.value} is already recorded for her")
        if stage is Stage.PAID and Stage.AWARDED.value not in recorded:
            raise HubError(ErrorCode.INVALID_TRANSITION, "record what was awarded before paid")
        row_id = str(uuid.uuid4())
        session.add(
            SurvivorCompensation(
                id=row_id,
                legal_case_id=legal.id,
                case_id=case_id,
                stage=stage.value,
                amount_sealed=(await case_cipher(session, cipher, case_id)).seal(
                    orjson.dumps({"amount": value, "currency": code}).decode(),
                    table=TABLE,
                    column="amount",
                    row_id=row_id,
                ),
                recorded_by_organization_id=actor.organization_id or "",
                recorded_at=now,
            )
        )
        await session.flush()
        await record_step(
            session,
            actor,
            legal,
            "SURVIVOR_COMPENSATION_RECORDED",
            "legal_case.survivor_compensation",
            {"case": case_id, "stage": stage.value},
            caseId=case_id,
            stage=stage.value,
        )
    return legal


async def survivor_amounts(
    db: Database, actor: Principal, cipher: FieldCipher, legal_id: str, case_id: str
) -> SurvivorAmounts:
    """One survivor's compensation as ``actor`` may read it (already a party of the legal
    case: the caller loaded it through the party filter)."""
    org = actor.organization_id or ""
    now = utcnow()
    async with db.read() as session:
        rows = list(
            await session.scalars(
                select(SurvivorCompensation).where(
                    SurvivorCompensation.legal_case_id == legal_id,
                    SurvivorCompensation.case_id == case_id,
                )
            )
        )
        if not rows:
            return SurvivorAmounts(None, None)
        owner = await session.scalar(select(Case.owner_organization_id).where(Case.id == case_id))
        grants = (await load_grants(session, [case_id])).get(case_id, [])
        opener = (await case_ciphers(session, cipher, [case_id]))[case_id]
    cited = None
    if org != owner and any(r.recorded_by_organization_id != org for r in rows):
        decision = decide(
            grants, Recipient(org, actor.organization_kind or ""), NOTE_PURPOSE, NOTE_CATEGORY, now
        )
        if not decision.allowed:
            assert decision.reason is not None
            return SurvivorAmounts(None, None, decision.reason.value)
        cited = decision
    texts = {
        r.stage: opener.open(r.amount_sealed, table=TABLE, column="amount", row_id=r.id)
        for r in rows
    }
    # An erased survivor's amounts are sealed empty texts (cases/erasure.py): nothing to show.
    opened = {stage: Amount(**orjson.loads(text)) for stage, text in texts.items() if text}
    if cited is not None:
        assert cited.grant_id is not None
        await disclosure.record(
            db,
            [
                DisclosureRecord(
                    organization_id=org,
                    case_id=case_id,
                    categories=(NOTE_CATEGORY.value,),
                    consent_grant_id=cited.grant_id,
                    consent_version=cited.grant_version or 0,
                    channel=Channel.QUERY,
                    request_id=actor.request_id,
                )
            ],
        )
    return SurvivorAmounts(opened.get(Stage.AWARDED.value), opened.get(Stage.PAID.value))
