"""The documents table: each file sealed whole, beside the metadata parties may list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class Document(Base):
    """A file about one survivor, attached to her case, a repatriation request or a legal
    case. The content is sealed (AES-GCM, bound to this row) under the hub's field keys, so
    key rotation and a later per-case key reach it like any sealed field."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("uploaded_by_organization_id", "idempotency_key"),
        Index("ix_documents_subject", "subject_type", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(24))
    subject_id: Mapped[str] = mapped_column(String(36))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    content_sealed: Mapped[str] = mapped_column(Text)
    uploaded_by_organization_id: Mapped[str] = mapped_column(String(36))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
