"""Tables for funders and the costs they record, on any funded subject (a repatriation
request, a reintegration plan, …) named by kind and id. No survivor data: amounts, items,
organisations and dates only."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class SubjectFunder(Base):
    """An organisation named as a funder of one subject."""

    __tablename__ = "subject_funders"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", "organization_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    organization_id: Mapped[str] = mapped_column(String(36), index=True)
    named_by_organization_id: Mapped[str] = mapped_column(String(36))
    named_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FundedCost(Base):
    """One cost paid by ``funder_organization_id``. Amounts are decimal strings, never floats.

    Every cost of the hub lives here, those recorded on repatriation requests before funders
    existed included (migration 0014 copied them)."""

    __tablename__ = "funded_costs"
    __table_args__ = (UniqueConstraint("funder_organization_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    funder_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    item: Mapped[str] = mapped_column(String(20))
    amount: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    incurred_on: Mapped[date] = mapped_column(Date, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Empty for a cost recorded without an idempotency key.
    request_fingerprint: Mapped[str] = mapped_column(String(64), default="")
