"""Tables for intervention requests (step 7 of the journey) and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class InterventionRequest(Base):
    """A request to an embassy to locate and assist a person still abroad.

    The case is the person's, owned by the member that heard of her; where she was last
    known to be is sealed (LOCATION) and released to the embassy only by consent.
    """

    __tablename__ = "intervention_requests"
    __table_args__ = (
        UniqueConstraint("requester_organization_id", "idempotency_key"),
        Index(
            "ix_intervention_requests_requester_page",
            "requester_organization_id",
            "created_at",
            "id",
        ),
        Index(
            "ix_intervention_requests_embassy_page", "embassy_organization_id", "created_at", "id"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    requester_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    embassy_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    current_country: Mapped[str] = mapped_column(String(2))
    reported_by: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    last_known_location_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    repatriation_request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    acknowledge_by: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InterventionChange(Base):
    """One transition of an intervention request; its note is survivor data, sealed."""

    __tablename__ = "intervention_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("intervention_requests.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_status: Mapped[str] = mapped_column(String(24))
    by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    note_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    note_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
