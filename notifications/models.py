"""The event outbox: written in the same transaction as the change it reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime

# SQLite only makes INTEGER PRIMARY KEY an alias of its rowid; PostgreSQL wants a bigint.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    """One outbox row. Payloads never carry survivor data."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(32), index=True)
    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    audience: Mapped[list[str]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
