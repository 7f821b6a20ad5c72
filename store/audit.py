"""The append-only audit trail: who did what to which object, and when.

Rows are never updated or deleted; the migration installs triggers that refuse both.
Entries carry identifiers and reasons written by staff about organisations, never
survivor data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


async def record_audit(
    session: AsyncSession,
    *,
    actor_organization_id: str | None,
    actor_client_id: str | None,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one audit entry to the caller's transaction."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor_organization_id=actor_organization_id,
        actor_client_id=actor_client_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail or {},
        request_id=request_id,
    )
    session.add(entry)
    return entry
