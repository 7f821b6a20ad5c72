"""Re-sealing everything sealed at rest under the newest data key, a batch at a time.

Every sealed column declares which case its rows are about (``case_of``), or ``NOT_A_CASE``
for values that are no survivor's (webhook secrets): erasing a case must find every value
about her. Values sealed under a case's own key (``c1`` envelopes) are not re-sealed on
rotation; the case keys themselves (``case_keys.wrapped``) are, which re-wraps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from cases.case_keys import case_cipher, erased_among
from cases.custody_models import CaseAssessment, CaseTransfer, FamilyAssessment
from cases.desk_models import DeskNote
from cases.document_models import Document
from cases.erasure_models import CaseErasure, CaseKeyRow
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
from cases.survivor_compensation_models import SurvivorCompensation
from consent.family_models import FamilyConsentBasis
from consent.models import ConsentGrant, ConsentWithdrawal
from notifications.models import Webhook
from orgs.staff_models import StaffInvite, StaffMember
from store.case_keys import CASE_PREFIX
from store.engine import Database
from store.sealed import FieldCipher, Sealing


@dataclass(frozen=True, slots=True)
class CaseBinding:
    """Which case a sealed row is about: its own case id column, or its parent's id column
    (``key``) plus the parent's case id column (``parent_case``)."""

    key: InstrumentedAttribute[Any]
    parent_case: InstrumentedAttribute[Any] | None = None

    def rows_of(self, case_id: str) -> ColumnElement[bool]:
        """The filter selecting the column's rows about one case."""
        if self.parent_case is None:
            return self.key == case_id
        parent = self.parent_case.class_
        (parent_id,) = parent.__table__.primary_key.columns
        return self.key.in_(select(parent_id).where(self.parent_case == case_id))

    def rows_of_live_cases(self) -> ColumnElement[bool]:
        """The filter selecting the column's rows about cases not erased."""
        erased = select(CaseErasure.case_id)
        if self.parent_case is None:
            return self.key.not_in(erased)
        parent = self.parent_case.class_
        (parent_id,) = parent.__table__.primary_key.columns
        return self.key.in_(select(parent_id).where(self.parent_case.not_in(erased)))


class Undeclared:
    """The binding of a column registered without saying which case it is about."""


UNDECLARED = Undeclared()
# Values about no survivor (webhook secrets).
NOT_A_CASE = None


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A column of envelopes, how each value is bound to its place, and its case."""

    column: InstrumentedAttribute[Any]
    table: str
    label: Callable[[Any], str]
    row_id: Callable[[Any], str]
    # Every column must say; erasure clears a case's values through this binding.
    case: CaseBinding | Undeclared | None = UNDECLARED
    # Rows per transaction at most (documents are megabytes each, fields a few bytes).
    batch: int | None = None


_OWN_CASE = CaseBinding(CaseField.case_id)
_REFERRAL = CaseBinding(Referral.case_id)
_REPATRIATION = CaseBinding(RepatriationRequest.case_id)
_TRANSFER = CaseBinding(CaseTransfer.case_id)
_ASSESSMENT = CaseBinding(CaseAssessment.case_id)
_FAMILY = CaseBinding(FamilyAssessment.case_id)

SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    # The wrapped case keys: re-sealing them under the newest hub key is the re-wrap that
    # rotation needs; values sealed under a case key stay as they are.
    SealedColumn(CaseKeyRow.wrapped, "case_keys", lambda r: "dek", lambda r: r.case_id, NOT_A_CASE),
    SealedColumn(
        CaseField.sealed, "case_fields", lambda r: r.field, lambda r: r.case_id, _OWN_CASE
    ),
    SealedColumn(
        CaseStatusChange.note,
        "case_status_changes",
        lambda r: "note",
        lambda r: r.case_id,
        CaseBinding(CaseStatusChange.case_id),
    ),
    SealedColumn(
        Referral.reason_sealed, "referrals", lambda r: "reason", lambda r: r.id, _REFERRAL
    ),
    SealedColumn(Referral.notes_sealed, "referrals", lambda r: "notes", lambda r: r.id, _REFERRAL),
    SealedColumn(
        Referral.outcome_note_sealed,
        "referrals",
        lambda r: "outcome_note",
        lambda r: r.id,
        _REFERRAL,
    ),
    SealedColumn(
        ReferralChange.reason_sealed,
        "referral_changes",
        lambda r: "reason",
        lambda r: r.id,
        CaseBinding(ReferralChange.referral_id, Referral.case_id),
    ),
    SealedColumn(
        RepatriationRequest.notes_sealed,
        "repatriation_requests",
        lambda r: "notes",
        lambda r: r.id,
        _REPATRIATION,
    ),
    SealedColumn(
        RepatriationChange.note_sealed,
        "repatriation_changes",
        lambda r: "note",
        lambda r: r.id,
        CaseBinding(RepatriationChange.request_id, RepatriationRequest.case_id),
    ),
    SealedColumn(
        RepatriationRequest.travel_plan_sealed,
        "repatriation_requests",
        lambda r: "travel_plan",
        lambda r: r.id,
        _REPATRIATION,
    ),
    SealedColumn(
        ConsentWithdrawal.reason_sealed,
        "consent_withdrawals",
        lambda r: "reason",
        lambda r: r.grant_id,
        CaseBinding(ConsentWithdrawal.grant_id, ConsentGrant.case_id),
    ),
    SealedColumn(
        CaseTransfer.reason_sealed, "case_transfers", lambda r: "reason", lambda r: r.id, _TRANSFER
    ),
    SealedColumn(
        CaseTransfer.answer_sealed, "case_transfers", lambda r: "answer", lambda r: r.id, _TRANSFER
    ),
    SealedColumn(
        CaseAssessment.needs_sealed,
        "case_assessments",
        lambda r: "needs",
        lambda r: r.id,
        _ASSESSMENT,
    ),
    SealedColumn(
        CaseAssessment.risks_sealed,
        "case_assessments",
        lambda r: "risks",
        lambda r: r.id,
        _ASSESSMENT,
    ),
    SealedColumn(
        CaseAssessment.identification_sealed,
        "case_assessments",
        lambda r: "identification",
        lambda r: r.id,
        _ASSESSMENT,
    ),
    SealedColumn(
        FamilyAssessment.family_sealed,
        "family_assessments",
        lambda r: "family",
        lambda r: r.id,
        _FAMILY,
    ),
    SealedColumn(
        FamilyAssessment.safety_sealed,
        "family_assessments",
        lambda r: "safety",
        lambda r: r.id,
        _FAMILY,
    ),
    SealedColumn(
        CaseErasure.reason_sealed,
        "case_erasures",
        lambda r: "reason",
        lambda r: r.case_id,
        # The record that an erasure happened outlives the erasure: not cleared by it.
        NOT_A_CASE,
    ),
    SealedColumn(Webhook.secret_sealed, "webhooks", lambda r: "secret", lambda r: r.id, NOT_A_CASE),
    # A legal case may link many survivors (a fishing-fleet prosecution): its notes are the
    # legal case's record, about no single case, and are not cleared when one case is erased.
    SealedColumn(
        LegalCaseChange.note_sealed,
        "legal_case_changes",
        lambda r: "note",
        lambda r: r.id,
        NOT_A_CASE,
    ),
    SealedColumn(
        Hearing.outcome_note_sealed,
        "legal_case_hearings",
        lambda r: "outcome_note",
        lambda r: r.id,
        NOT_A_CASE,
    ),
    SealedColumn(
        SurvivorCompensation.amount_sealed,
        "legal_case_survivor_compensations",
        lambda r: "amount",
        lambda r: r.id,
        CaseBinding(SurvivorCompensation.case_id),
    ),
    SealedColumn(
        Document.content_sealed,
        "documents",
        lambda r: "content",
        lambda r: r.id,
        CaseBinding(Document.case_id),
        batch=5,
    ),
    SealedColumn(
        InterventionRequest.last_known_location_sealed,
        "intervention_requests",
        lambda r: "last_known_location",
        lambda r: r.id,
        CaseBinding(InterventionRequest.case_id),
    ),
    SealedColumn(
        InterventionChange.note_sealed,
        "intervention_changes",
        lambda r: "note",
        lambda r: r.id,
        CaseBinding(InterventionChange.request_id, InterventionRequest.case_id),
    ),
    SealedColumn(
        FamilyConsentBasis.basis_sealed,
        "family_consent_bases",
        lambda r: "basis",
        lambda r: r.grant_id,
        CaseBinding(FamilyConsentBasis.grant_id, ConsentGrant.case_id),
    ),
    SealedColumn(
        FollowUpVisit.note_sealed,
        "follow_up_visits",
        lambda r: "note",
        lambda r: r.id,
        CaseBinding(FollowUpVisit.plan_id, ReintegrationPlan.case_id),
    ),
    SealedColumn(
        ReintegrationService.end_reason_sealed,
        "reintegration_services",
        lambda r: "end_reason",
        lambda r: r.id,
        CaseBinding(ReintegrationService.plan_id, ReintegrationPlan.case_id),
    ),
    SealedColumn(
        ReintegrationPlan.cancel_reason_sealed,
        "reintegration_plans",
        lambda r: "cancel_reason",
        lambda r: r.id,
        CaseBinding(ReintegrationPlan.case_id),
    ),
    # Notes on a late item are typed by people and may name her: cleared with her case.
    SealedColumn(
        DeskNote.text_sealed,
        "desk_notes",
        lambda r: "text",
        lambda r: r.id,
        CaseBinding(DeskNote.case_id),
    ),
    # A person's second factor: about staff, never a survivor.
    SealedColumn(
        StaffMember.totp_sealed, "staff", lambda r: "totp_sealed", lambda r: r.id, NOT_A_CASE
    ),
    SealedColumn(
        StaffInvite.totp_sealed,
        "staff_invites",
        lambda r: "totp_sealed",
        lambda r: r.id,
        NOT_A_CASE,
    ),
)


async def _cases_of(session: AsyncSession, binding: CaseBinding, rows: list[Any]) -> list[str]:
    """The case each row is about, in order (one statement for a batch of child rows)."""
    keys = [getattr(row, binding.key.key) for row in rows]
    if binding.parent_case is None:
        return keys
    parent = binding.parent_case.class_
    (parent_id,) = parent.__table__.primary_key.columns
    found = await session.execute(
        select(parent_id, binding.parent_case).where(parent_id.in_(set(keys)))
    )
    by_parent = {key: case_id for key, case_id in found}
    return [by_parent[key] for key in keys]


async def _sealers(
    session: AsyncSession, cipher: FieldCipher, spec: SealedColumn, rows: list[Any]
) -> list[Sealing]:
    """Who seals each row anew: its case's key for a value about a case (moving values
    sealed before case keys under them, so erasure shreds every copy), the hub key for
    the rest and for what is left of an erased case (an empty text)."""
    if not isinstance(spec.case, CaseBinding):
        return [cipher for _ in rows]
    case_ids = await _cases_of(session, spec.case, rows)
    erased = await erased_among(session, case_ids)
    return [
        cipher if case_id in erased else await case_cipher(session, cipher, case_id)
        for case_id in case_ids
    ]


async def reseal_column(db: Database, cipher: FieldCipher, spec: SealedColumn, batch: int) -> int:
    """Re-seal one column's values still under an older key, or still under the hub key
    though they are about a case; each batch commits alone."""
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
                    .where(
                        spec.column.is_not(None),
                        # About a case: every hub-key value moves under the case key.
                        or_(spec.column.not_like(current), spec.case.rows_of_live_cases())
                        if isinstance(spec.case, CaseBinding)
                        else spec.column.not_like(current),
                        # Under a case key already: rotation re-wraps the key instead.
                        spec.column.not_like(f"{CASE_PREFIX}.%"),
                    )
                    .order_by(*model.__table__.primary_key.columns)
                    .limit(batch)
                )
            )
            sealers = await _sealers(session, cipher, spec, rows)
            for row, sealer in zip(rows, sealers, strict=True):
                place = {"table": spec.table, "column": spec.label(row), "row_id": spec.row_id(row)}
                setattr(row, key, sealer.seal(cipher.open(getattr(row, key), **place), **place))
                if isinstance(row, CaseField | Document):
                    row.key_id = cipher.current if sealer is cipher else CASE_PREFIX
        done += len(rows)
        if len(rows) < batch:
            return done


async def reseal_all(db: Database, cipher: FieldCipher, batch: int = 200) -> int:
    """Everything sealed, survivor fields first. Safe to interrupt and run again."""
    total = 0
    for spec in SEALED_COLUMNS:
        total += await reseal_column(db, cipher, spec, batch)
    return total
