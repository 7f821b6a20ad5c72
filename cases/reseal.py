"""Re-sealing everything sealed at rest under the newest data key, a batch at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from cases.custody_models import CaseAssessment, CaseTransfer, FamilyAssessment
from cases.document_models import Document
from cases.intervention_models import InterventionChange, InterventionRequest
from cases.justice_models import Hearing, LegalCaseChange
from cases.models import (
    CaseField,
    CaseStatusChange,
    Referral,
    ReferralChange,
    RepatriationChange,
    RepatriationRequest,
)
from cases.reintegration_models import FollowUpVisit, ReintegrationPlan, ReintegrationService
from consent.family_models import FamilyConsentBasis
from consent.models import ConsentWithdrawal
from notifications.models import Webhook
from store.engine import Database
from store.sealed import FieldCipher


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A column of envelopes and how each value is bound to its place."""

    column: InstrumentedAttribute[Any]
    table: str
    label: Callable[[Any], str]
    row_id: Callable[[Any], str]
    # Rows per transaction at most (documents are megabytes each, fields a few bytes).
    batch: int | None = None


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(CaseField.sealed, "case_fields", lambda r: r.field, lambda r: r.case_id),
    SealedColumn(
        CaseStatusChange.note, "case_status_changes", lambda r: "note", lambda r: r.case_id
    ),
    SealedColumn(Referral.reason_sealed, "referrals", lambda r: "reason", lambda r: r.id),
    SealedColumn(Referral.notes_sealed, "referrals", lambda r: "notes", lambda r: r.id),
    SealedColumn(
        Referral.outcome_note_sealed, "referrals", lambda r: "outcome_note", lambda r: r.id
    ),
    SealedColumn(
        ReferralChange.reason_sealed, "referral_changes", lambda r: "reason", lambda r: r.id
    ),
    SealedColumn(
        RepatriationRequest.notes_sealed, "repatriation_requests", lambda r: "notes", lambda r: r.id
    ),
    SealedColumn(
        RepatriationChange.note_sealed, "repatriation_changes", lambda r: "note", lambda r: r.id
    ),
    SealedColumn(
        RepatriationRequest.travel_plan_sealed,
        "repatriation_requests",
        lambda r: "travel_plan",
        lambda r: r.id,
    ),
    SealedColumn(
        ConsentWithdrawal.reason_sealed,
        "consent_withdrawals",
        lambda r: "reason",
        lambda r: r.grant_id,
    ),
    SealedColumn(Webhook.secret_sealed, "webhooks", lambda r: "secret", lambda r: r.id),
    SealedColumn(CaseTransfer.reason_sealed, "case_transfers", lambda r: "reason", lambda r: r.id),
    SealedColumn(CaseTransfer.answer_sealed, "case_transfers", lambda r: "answer", lambda r: r.id),
    SealedColumn(
        CaseAssessment.needs_sealed, "case_assessments", lambda r: "needs", lambda r: r.id
    ),
    SealedColumn(
        CaseAssessment.risks_sealed, "case_assessments", lambda r: "risks", lambda r: r.id
    ),
    SealedColumn(
        CaseAssessment.identification_sealed,
        "case_assessments",
        lambda r: "identification",
        lambda r: r.id,
    ),
    SealedColumn(
        FamilyAssessment.family_sealed, "family_assessments", lambda r: "family", lambda r: r.id
    ),
    SealedColumn(
        FamilyAssessment.safety_sealed, "family_assessments", lambda r: "safety", lambda r: r.id
    ),
    SealedColumn(
        LegalCaseChange.note_sealed, "legal_case_changes", lambda r: "note", lambda r: r.id
    ),
    SealedColumn(
        Hearing.outcome_note_sealed,
        "legal_case_hearings",
        lambda r: "outcome_note",
        lambda r: r.id,
    ),
    SealedColumn(Document.content_sealed, "documents", lambda r: "content", lambda r: r.id, 5),
    SealedColumn(
        InterventionRequest.last_known_location_sealed,
        "intervention_requests",
        lambda r: "last_known_location",
        lambda r: r.id,
    ),
    SealedColumn(
        InterventionChange.note_sealed, "intervention_changes", lambda r: "note", lambda r: r.id
    ),
    SealedColumn(
        FamilyConsentBasis.basis_sealed,
        "family_consent_bases",
        lambda r: "basis",
        lambda r: r.grant_id,
    ),
    SealedColumn(FollowUpVisit.note_sealed, "follow_up_visits", lambda r: "note", lambda r: r.id),
    SealedColumn(
        ReintegrationService.end_reason_sealed,
        "reintegration_services",
        lambda r: "end_reason",
        lambda r: r.id,
    ),
    SealedColumn(
        ReintegrationPlan.cancel_reason_sealed,
        "reintegration_plans",
        lambda r: "cancel_reason",
        lambda r: r.id,
    ),
)


async def reseal_column(db: Database, cipher: FieldCipher, spec: SealedColumn, batch: int) -> int:
    """Re-seal one column's values still under an older key; each batch commits alone."""
    model = spec.column.class_
    current = f"v1.{cipher.current}.%"
    key = spec.column.key
    batch = min(batch, spec.batch or batch)
    done = 0
    while True:
        async with db.write() as session:
            rows = list(
                await session.scalars(
                    select(model)
                    .where(spec.column.is_not(None), spec.column.not_like(current))
                    .order_by(*model.__table__.primary_key.columns)
                    .limit(batch)
                )
            )
            for row in rows:
                place = {"table": spec.table, "column": spec.label(row), "row_id": spec.row_id(row)}
                setattr(row, key, cipher.seal(cipher.open(getattr(row, key), **place), **place))
                if isinstance(row, CaseField | Document):
                    row.key_id = cipher.current
        done += len(rows)
        if len(rows) < batch:
            return done


async def reseal_all(db: Database, cipher: FieldCipher, batch: int = 200) -> int:
    """Everything sealed, survivor fields first. Safe to interrupt and run again."""
    total = 0
    for spec in SEALED_COLUMNS:
        total += await reseal_column(db, cipher, spec, batch)
    return total
