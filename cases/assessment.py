"""Assessments: the owner's initial assessment of a case, and the reception organisation's
family assessment before a return. Each recording is one transaction with its event
(ids and versions only: the decision itself is survivor data) and audit entry; recording
again revises the assessment (optimistic ``version``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select, update

from cases.access import Withheld
from cases.assessment_rules import (
    AssessorRole,
    IdentificationDecision,
    RiskFactor,
    check_items,
    check_note,
)
from cases.case_keys import case_cipher
from cases.custody_models import CaseAssessment, FamilyAssessment
from cases.free_text import TextField, category_of
from cases.models import Case
from cases.party_texts import open_case_parts
from cases.repatriation import load_request, repatriation_payload, roles_of
from cases.repatriation_rules import ACTIVE, RepatriationStatus
from cases.service import case_audience, load_owned_case, load_visible_case
from cases.text_access import SealedText
from cases.workflow import Role
from consent import disclosure
from consent.disclosure import Channel
from notifications.outbox import emit
from orgs.principal import Principal
from orgs.rules import ServiceCategory
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.sealed import FieldCipher, Sealing
from store.types import utcnow

CASE_READ = "cases:read"
REPATRIATION_READ = "repatriation:read"


@dataclass(frozen=True, slots=True)
class NewAssessment:
    case_id: str
    needs: Sequence[ServiceCategory]
    risks: Sequence[RiskFactor]
    identification: IdentificationDecision
    assessor_role: AssessorRole
    needs_note: str | None = None
    risks_note: str | None = None
    identification_note: str | None = None


@dataclass(frozen=True, slots=True)
class NewFamilyAssessment:
    family_traced: bool
    safe_to_return: bool
    safety_reasons: str
    family_note: str | None = None


@dataclass
class PartsView:
    """An assessment as one organisation may read it: each part opened or withheld."""

    row: Any
    parts: dict[str, Any] = field(default_factory=dict)
    withheld: list[Withheld] = field(default_factory=list)


def _stale(what: str) -> HubError:
    return HubError(ErrorCode.CONFLICT, f"the {what} was changed by someone else")


def _seal(cipher: Sealing, table: str, column: str, row_id: str, value: object) -> str:
    return cipher.seal(orjson.dumps(value).decode(), table=table, column=column, row_id=row_id)


def _assessment_parts(cipher: Sealing, row_id: str, new: NewAssessment) -> dict[str, str]:
    table = "case_assessments"
    return {
        "needs_sealed": _seal(
            cipher,
            table,
            "needs",
            row_id,
            {
                "needs": check_items("needs", new.needs),
                "note": check_note("needsNote", new.needs_note),
            },
        ),
        "risks_sealed": _seal(
            cipher,
            table,
            "risks",
            row_id,
            {
                "risks": check_items("risks", new.risks),
                "note": check_note("risksNote", new.risks_note),
            },
        ),
        "identification_sealed": _seal(
            cipher,
            table,
            "identification",
            row_id,
            {
                "decision": new.identification.value,
                "note": check_note("identificationNote", new.identification_note),
            },
        ),
    }


async def record_assessment(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    new: NewAssessment,
    expected_version: int | None = None,
) -> CaseAssessment:
    """The owner records (or revises) the initial assessment of its case."""
    # Checked before any write: a bad note refuses the whole assessment.
    check_note("needsNote", new.needs_note)
    check_note("risksNote", new.risks_note)
    check_note("identificationNote", new.identification_note)
    async with db.write() as session:
        case = await load_owned_case(session, actor, new.case_id)
        now = utcnow()
        row = await session.scalar(select(CaseAssessment).where(CaseAssessment.case_id == case.id))
        if row is None:
            if expected_version not in (None, 0):
                raise _stale("assessment")
            row_id = str(uuid.uuid4())
            row = CaseAssessment(
                id=row_id,
                case_id=case.id,
                by_organization_id=case.owner_organization_id,
                assessor_role=new.assessor_role.value,
                version=1,
                assessed_at=now,
                updated_at=now,
                **_assessment_parts(await case_cipher(session, cipher, case.id), row_id, new),
            )
            session.add(row)
            await session.flush()
        else:
            if expected_version is not None and expected_version != row.version:
                raise _stale("assessment")
            result = await session.execute(
                update(CaseAssessment)
                .where(CaseAssessment.id == row.id, CaseAssessment.version == row.version)
                .values(
                    by_organization_id=case.owner_organization_id,
                    assessor_role=new.assessor_role.value,
                    version=row.version + 1,
                    updated_at=now,
                    **_assessment_parts(await case_cipher(session, cipher, case.id), row.id, new),
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _stale("assessment")
            await session.refresh(row)
        await emit(
            session,
            topic="CASE",
            type="CASE_ASSESSED",
            subject_id=case.id,
            actor_organization_id=actor.organization_id,
            audience=await case_audience(session, case),
            payload={"caseId": case.id, "assessmentId": row.id, "version": row.version},
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="case.assess",
            subject_type="CaseAssessment",
            subject_id=row.id,
            detail={"caseId": case.id, "version": row.version, "role": row.assessor_role},
            request_id=actor.request_id,
        )
    return row


def _assessment_texts(row: CaseAssessment) -> list[SealedText]:
    table = "case_assessments"
    return [
        SealedText(
            text_field,
            column,
            sealed,
            category_of(text_field, None),
            table,
            column,
            row.id,
        )
        for text_field, column, sealed in (
            (TextField.ASSESSMENT_NEEDS, "needs", row.needs_sealed),
            (TextField.ASSESSMENT_RISKS, "risks", row.risks_sealed),
            (TextField.ASSESSMENT_IDENTIFICATION, "identification", row.identification_sealed),
        )
    ]


def _family_texts(row: FamilyAssessment) -> list[SealedText]:
    table = "family_assessments"
    return [
        SealedText(TextField.FAMILY_TRACING, "family", row.family_sealed,
                   category_of(TextField.FAMILY_TRACING, None), table, "family", row.id),
        SealedText(TextField.FAMILY_SAFETY, "safety", row.safety_sealed,
                   category_of(TextField.FAMILY_SAFETY, None), table, "safety", row.id),
    ]  # fmt: skip


def _parts(values: dict[str, Any]) -> dict[str, Any]:
    """The opened parts; an erased part is sealed as an empty text (eraseCaseData), which
    shows as nothing rather than failing to parse."""
    return {k: orjson.loads(v) for k, v in values.items() if v}


async def read_assessment(
    db: Database, actor: Principal, cipher: FieldCipher, case_id: str, *, reading: bool = True
) -> PartsView | None:
    """The case's initial assessment as the actor may read it; None if none was recorded.
    A writer reloading what it just recorded passes ``reading=False``: its parts are still
    released only with the read scope."""
    if reading and not actor.has(CASE_READ):
        raise not_found("case")
    async with db.read() as session:
        case = await load_visible_case(session, actor, case_id)
        row = await session.scalar(select(CaseAssessment).where(CaseAssessment.case_id == case.id))
        if row is None:
            return None
        view = await open_case_parts(
            session, actor, cipher, case, _assessment_texts(row), utcnow(), CASE_READ,
            Channel.QUERY,
        )  # fmt: skip
    await disclosure.record(db, view.disclosures)
    return PartsView(row, _parts(view.values), view.withheld)


async def record_family_assessment(
    db: Database,
    actor: Principal,
    cipher: FieldCipher,
    request_id: str,
    new: NewFamilyAssessment,
    expected_version: int | None = None,
) -> FamilyAssessment:
    """The reception organisation records (or revises) its family assessment while the
    request is still under way (before the survivor travels home)."""
    reasons = check_note("safetyReasons", new.safety_reasons, required=True)
    note = check_note("familyNote", new.family_note)
    async with db.write() as session:
        request = await load_request(session, actor, request_id)
        if Role.RECEPTION not in roles_of(request, actor.organization_id):
            raise HubError(
                ErrorCode.FORBIDDEN,
                "only the reception organisation of the request assesses the family",
            )
        if request.status not in ACTIVE | {RepatriationStatus.ON_HOLD}:
            raise HubError(
                ErrorCode.INVALID_TRANSITION,
                "Cannot assess the family: the repatriation request is no longer under way",
            )
        now = utcnow()
        row = await session.scalar(
            select(FamilyAssessment).where(FamilyAssessment.request_id == request.id)
        )
        row_id = row.id if row is not None else str(uuid.uuid4())
        table = "family_assessments"
        sealer = await case_cipher(session, cipher, request.case_id)
        sealed = {
            "family_sealed": _seal(
                sealer, table, "family", row_id, {"traced": new.family_traced, "note": note}
            ),
            "safety_sealed": _seal(
                sealer, table, "safety", row_id, {"safe": new.safe_to_return, "reasons": reasons}
            ),
        }
        if row is None:
            if expected_version not in (None, 0):
                raise _stale("family assessment")
            row = FamilyAssessment(
                id=row_id,
                request_id=request.id,
                case_id=request.case_id,
                by_organization_id=actor.organization_id or "",
                version=1,
                assessed_at=now,
                updated_at=now,
                **sealed,
            )
            session.add(row)
            await session.flush()
        else:
            if expected_version is not None and expected_version != row.version:
                raise _stale("family assessment")
            result = await session.execute(
                update(FamilyAssessment)
                .where(FamilyAssessment.id == row.id, FamilyAssessment.version == row.version)
                .values(version=row.version + 1, updated_at=now, **sealed)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _stale("family assessment")
            await session.refresh(row)
        audience = sorted(
            {
                request.requester_organization_id,
                request.embassy_organization_id,
                request.reception_organization_id,
            }
        )
        await emit(
            session,
            topic="REPATRIATION",
            type="REPATRIATION_FAMILY_ASSESSED",
            subject_id=request.id,
            actor_organization_id=actor.organization_id,
            audience=audience,
            payload={**repatriation_payload(request), "assessmentVersion": row.version},
        )
        await record_audit(
            session,
            actor_organization_id=actor.organization_id,
            actor_client_id=actor.client_id,
            action="repatriation.family_assessment",
            subject_type="FamilyAssessment",
            subject_id=row.id,
            detail={"repatriationId": request.id, "version": row.version},
            request_id=actor.request_id,
        )
    return row


async def read_family_assessment(
    db: Database, actor: Principal, cipher: FieldCipher, request_id: str, *, reading: bool = True
) -> PartsView | None:
    """The request's family assessment as a party to the request may read it (``reading``:
    as for ``read_assessment``)."""
    if reading and not actor.has(REPATRIATION_READ):
        raise not_found("repatriation request")
    async with db.read() as session:
        request = await load_request(session, actor, request_id)
        row = await session.scalar(
            select(FamilyAssessment).where(FamilyAssessment.request_id == request.id)
        )
        if row is None:
            return None
        case = await session.get(Case, request.case_id)
        assert case is not None
        view = await open_case_parts(
            session, actor, cipher, case, _family_texts(row), utcnow(), REPATRIATION_READ,
            Channel.QUERY,
        )  # fmt: skip
    await disclosure.record(db, view.disclosures)
    return PartsView(row, _parts(view.values), view.withheld)
