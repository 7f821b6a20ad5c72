"""Tables for reintegration: a plan per case, its services and its follow-up visits.

Free text (a visit's note, a service's end reason, a plan's cancel reason) is survivor data:
sealed in place with the category its writer chose, like every other text on a case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class ReintegrationPlan(Base):
    """The case owner's plan for a survivor's life after return."""

    __tablename__ = "reintegration_plans"
    __table_args__ = (UniqueConstraint("created_by_organization_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_organization_id: Mapped[str] = mapped_column(String(36))
    cancel_reason_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_reason_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReintegrationService(Base):
    """One service of a plan, given by one provider organisation."""

    __tablename__ = "reintegration_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("reintegration_plans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    provider_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16))
    end_reason_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    end_reason_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FollowUpVisit(Base):
    """A visit due at ``due_at`` by the visiting organisation, and what it found."""

    __tablename__ = "follow_up_visits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("reintegration_plans.id"), index=True)
    visitor_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The visit's note when recorded, or the reason when cancelled: sealed either way.
    note_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    note_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    next_visit_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
