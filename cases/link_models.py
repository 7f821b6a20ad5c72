"""Tables of the blind index and of the links owners agree between their cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class BlindIndexEntry(Base):
    """One keyed hash of a case's person (name, date of birth, sex) under one key id.

    Survivor data for erasure: erasing the case deletes its entries."""

    __tablename__ = "case_blind_index"
    __table_args__ = (Index("ix_case_blind_index_lookup", "key_id", "digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))


class CaseLink(Base):
    """A possible duplicate found when a case was opened, and the owners' agreement on it.

    ``hint`` is the opaque id the opening caseworker gets; ``asking_case_id`` is that new
    case, ``asked_case_id`` the case found elsewhere. Neither side sees the other's case or
    organisation until ``status`` is LINKED; the asked side sees the asker's organisation
    once a link is requested."""

    __tablename__ = "case_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hint: Mapped[str] = mapped_column(String(36), index=True)
    asking_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    asked_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    requested_by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
