"""Tables for cases: the non-identifying record, sealed survivor fields, status history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class Case(Base):
    """One survivor's case, owned by the organisation that registered it.

    Only non-identifying fields live here; survivor data is in ``case_fields``, sealed.
    """

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    owner_organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    age_band: Mapped[str] = mapped_column(String(16))
    sex: Mapped[str] = mapped_column(String(32))
    nationality: Mapped[str | None] = mapped_column(String(2), nullable=True)
    languages: Mapped[list[str]] = mapped_column(JSON)
    needs: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseField(Base):
    """One sealed survivor field: AES-GCM bound to (case_fields, field, case id)."""

    __tablename__ = "case_fields"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    sealed: Mapped[str] = mapped_column(Text)


class CaseStatusChange(Base):
    __tablename__ = "case_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_organization_id: Mapped[str] = mapped_column(String(36))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CaseParty(Base):
    """An organisation's standing relation to a case, and the purpose it serves.

    Every way of becoming party (a named consent recipient, a referral, a repatriation
    request) adds a row; access to cases is this one filter, applied where cases load.
    """

    __tablename__ = "case_parties"
    __table_args__ = (Index("ix_case_parties_case_organization", "case_id", "organization_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    organization_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    source_type: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(36), index=True)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Referral(Base):
    """A referral of a case from one organisation to another. Free text is sealed."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("sender_organization_id", "idempotency_key"),
        # Inbox and outbox pages: newest first, in index order (migration 0009).
        Index("ix_referrals_receiver_page", "receiver_organization_id", "created_at", "id"),
        Index("ix_referrals_sender_page", "sender_organization_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    sender_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    receiver_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    services: Mapped[list[str]] = mapped_column(JSON)
    urgency: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    reason_sealed: Mapped[str] = mapped_column(Text)
    notes_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_services: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    outcome_note_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The data category of each free text (None: the strictest, see cases.free_text).
    reason_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    notes_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome_note_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Set while the referral waits for the survivor's consent: the status it was held from.
    held_from: Mapped[str | None] = mapped_column(String(16), nullable=True)
    held_for_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledge_by: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReferralChange(Base):
    """One transition of a referral: who, when, why, and the version it produced."""

    __tablename__ = "referral_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    reason_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason_category: Mapped[str | None] = mapped_column(String(32), nullable=True)


class RepatriationRequest(Base):
    """A request to an embassy to bring a survivor home, and to a reception organisation."""

    __tablename__ = "repatriation_requests"
    __table_args__ = (
        UniqueConstraint("requester_organization_id", "idempotency_key"),
        Index(
            "ix_repatriation_requests_requester_page",
            "requester_organization_id",
            "created_at",
            "id",
        ),
        Index(
            "ix_repatriation_requests_embassy_page", "embassy_organization_id", "created_at", "id"
        ),
        Index(
            "ix_repatriation_requests_reception_page",
            "reception_organization_id",
            "created_at",
            "id",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    requester_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    embassy_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    reception_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    current_country: Mapped[str] = mapped_column(String(2))
    situation: Mapped[str] = mapped_column(String(32))
    documents_held: Mapped[list[str]] = mapped_column(JSON)
    assistance_needed: Mapped[list[str]] = mapped_column(JSON)
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), index=True)
    held_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    held_for_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    notes_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Date, route and escort as sealed JSON: where and with whom the survivor travels.
    travel_plan_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    acknowledge_by: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RepatriationChange(Base):
    __tablename__ = "repatriation_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("repatriation_requests.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    note_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    note_category: Mapped[str | None] = mapped_column(String(32), nullable=True)


class RepatriationCost(Base):
    """A cost recorded by whoever pays it. Amounts are decimal strings, never floats."""

    __tablename__ = "repatriation_costs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("repatriation_requests.id"), index=True)
    item: Mapped[str] = mapped_column(String(16))
    amount: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    paid_by_organization_id: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
