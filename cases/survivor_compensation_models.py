"""Compensation per survivor of a legal case: what the court awarded her and what was paid
to her. The amount is about her, so it is sealed (amount and currency together)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class SurvivorCompensation(Base):
    __tablename__ = "legal_case_survivor_compensations"
    __table_args__ = (UniqueConstraint("legal_case_id", "case_id", "stage"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    legal_case_id: Mapped[str] = mapped_column(ForeignKey("legal_cases.id"), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    stage: Mapped[str] = mapped_column(String(8))  # AWARDED or PAID
    amount_sealed: Mapped[str] = mapped_column(Text)
    recorded_by_organization_id: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
