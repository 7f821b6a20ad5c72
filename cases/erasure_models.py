"""Tables for per-case data keys and the record of erasures.

``case_keys`` holds each case's data key wrapped by the hub's keys, in the key store apart
from the data (store/key_store.py); erasing a case deletes
the wrapped key (SQLite with ``secure_delete``, so the freed bytes are zeroed) and leaves the
row's absence plus a ``case_erasures`` row: ids and times only, and the reason sealed under
the hub key because it is free text a caseworker may fill with anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.key_store import SCHEMA as KEY_SCHEMA
from store.types import UTCDateTime


class CaseKeyRow(Base):
    """In the key store (store/key_store.py), apart from the data: no foreign key across."""

    __tablename__ = "case_keys"
    __table_args__ = {"schema": KEY_SCHEMA}

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wrapped: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseErasure(Base):
    """A case whose survivor data was destroyed: on request (with a key) or by retention."""

    __tablename__ = "case_erasures"
    __table_args__ = (
        UniqueConstraint("organization_id", "idempotency_key", name="uq_case_erasures_key"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
