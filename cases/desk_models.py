"""Tables of the coordinator's desk: notices sent to an organisation about a late item, and
conversation notes on an item between the coordinator and the item's parties."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class DeskNotice(Base):
    """A reminder from the coordinator to one organisation about one late item. Metadata
    only: which item, who reminded whom, when, and when the organisation read it."""

    __tablename__ = "desk_notices"
    __table_args__ = (Index("ix_desk_notices_item", "item_kind", "item_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(36), index=True)
    item_kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[str] = mapped_column(String(36))
    by_organization_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeskNote(Base):
    """One message in the conversation on an item. The text is typed by people and may name
    the survivor, so it is sealed like a survivor's free text (bound to this table, column and
    row, under the case's key) and cleared when her case is erased: ``case_id`` is only that
    binding, never shown."""

    __tablename__ = "desk_notes"
    __table_args__ = (Index("ix_desk_notes_item", "item_kind", "item_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item_kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[str] = mapped_column(String(36))
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    author_organization_id: Mapped[str] = mapped_column(String(36))
    text_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
