"""Tables for legal cases: the prosecution, the survivor cases it links, its history and
hearings. Only the legal case's own metadata is plain; notes are sealed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class LegalCase(Base):
    """A prosecution followed by a legal aid organisation, for one or many survivors.

    Court, stage, verdict and compensation are the proceedings' own facts, shared by every
    party; nothing here identifies a survivor."""

    __tablename__ = "legal_cases"
    __table_args__ = (UniqueConstraint("opened_by_organization_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opened_by_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    legal_aid_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    court: Mapped[str] = mapped_column(String(200))
    complaint_filed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    judgment_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Decimal strings, never floats; the currency an ISO 4217 code.
    compensation_awarded: Mapped[str | None] = mapped_column(String(32), nullable=True)
    compensation_awarded_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    compensation_paid: Mapped[str | None] = mapped_column(String(32), nullable=True)
    compensation_paid_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LegalCaseLink(Base):
    """One survivor case joined to a legal case, by whom and when."""

    __tablename__ = "legal_case_links"

    legal_case_id: Mapped[str] = mapped_column(ForeignKey("legal_cases.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    linked_by_organization_id: Mapped[str] = mapped_column(String(36))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LegalCaseChange(Base):
    __tablename__ = "legal_case_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    legal_case_id: Mapped[str] = mapped_column(ForeignKey("legal_cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_status: Mapped[str] = mapped_column(String(24))
    by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    # Sealed, LEGAL: released like a hearing's outcome note.
    note_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)


class Hearing(Base):
    """A court hearing: when, where, and whether the survivors' transport and accommodation
    to attend were provided. The outcome note is sealed."""

    __tablename__ = "legal_case_hearings"
    __table_args__ = (UniqueConstraint("legal_case_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    legal_case_id: Mapped[str] = mapped_column(ForeignKey("legal_cases.id"), index=True)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    court: Mapped[str] = mapped_column(String(200))
    transport_provided: Mapped[bool] = mapped_column(Boolean)
    accommodation_provided: Mapped[bool] = mapped_column(Boolean)
    outcome_note_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by_organization_id: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
