"""Tables for custody transfers and assessments. Every text about the survivor is sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class CaseTransfer(Base):
    """An offer of a case's custody from its owner to another organisation, and its answer.

    At most one offer per case is OFFERED at a time (a partial unique index), so two
    concurrent offers cannot both stand."""

    __tablename__ = "case_transfers"
    __table_args__ = (
        UniqueConstraint("from_organization_id", "idempotency_key"),
        Index(
            "uq_case_transfers_open_offer",
            "case_id",
            unique=True,
            sqlite_where=text("status = 'OFFERED'"),
            postgresql_where=text("status = 'OFFERED'"),
        ),
        Index("ix_case_transfers_to_page", "to_organization_id", "created_at", "id"),
        Index("ix_case_transfers_from_page", "from_organization_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    from_organization_id: Mapped[str] = mapped_column(String(36))
    to_organization_id: Mapped[str] = mapped_column(String(36))
    origin: Mapped[str] = mapped_column(String(16))
    # The repatriation request whose hand-over made the offer (origin HANDOVER).
    repatriation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    purpose: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    reason_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    answer_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    answered_by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the hub reminded the addressee of an unanswered offer (cases/custody_deadlines.py).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseAssessment(Base):
    """The initial assessment of a case: needs, risks and identification as a victim.

    Who decided is the organisation and the assessor's role, never a person's name. The
    decision and its basis, the needs and the risks are sealed, each under its category."""

    __tablename__ = "case_assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True)
    by_organization_id: Mapped[str] = mapped_column(String(36))
    assessor_role: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    needs_sealed: Mapped[str] = mapped_column(Text)
    risks_sealed: Mapped[str] = mapped_column(Text)
    identification_sealed: Mapped[str] = mapped_column(Text)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FamilyAssessment(Base):
    """The reception side's assessment of the family before a return: traced, and safe.

    Both answers and their reasons are sealed: whether a child's family was found, and why
    home is or is not safe, are about the survivor."""

    __tablename__ = "family_assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("repatriation_requests.id"), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    by_organization_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    family_sealed: Mapped[str] = mapped_column(Text)
    safety_sealed: Mapped[str] = mapped_column(Text)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
