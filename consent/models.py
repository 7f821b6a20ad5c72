"""Tables for consent grants, their withdrawal, notices to holders, and the disclosure log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class ConsentGrant(Base):
    """One version of a survivor's consent. Rows are never edited; withdrawal is its own row."""

    __tablename__ = "consent_grants"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    grantor: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    interpreter_language: Mapped[str | None] = mapped_column(String(3), nullable=True)
    purposes: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    recipient_organization_ids: Mapped[list[str]] = mapped_column(JSON)
    recipient_kinds: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recorded_by_organization_id: Mapped[str] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsentWithdrawal(Base):
    __tablename__ = "consent_withdrawals"

    grant_id: Mapped[str] = mapped_column(ForeignKey("consent_grants.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Why the survivor withdrew: free text about her, sealed like case fields.
    reason_sealed: Mapped[str] = mapped_column(Text)
    by_organization_id: Mapped[str] = mapped_column(String(36))


class WithdrawalNotice(Base):
    """An organisation that received data under a withdrawn grant, and its acknowledgement."""

    __tablename__ = "withdrawal_notices"

    grant_id: Mapped[str] = mapped_column(ForeignKey("consent_grants.id"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Disclosure(Base):
    """One disclosure of survivor data to another organisation. Append-only, hash-chained.

    Names categories and the consent that allowed it; never the data itself.
    """

    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    organization_id: Mapped[str] = mapped_column(String(36), index=True)
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    categories: Mapped[list[str]] = mapped_column(JSON)
    consent_grant_id: Mapped[str] = mapped_column(String(36), index=True)
    consent_version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The person who saw it (a console session), beside the organisation; None for systems.
    staff_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Unique: two writers can never both extend the same entry, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """A signed statement of both chains' length and head at one moment.

    The JWS is what counts; the other columns copy its claims so that the newest can be
    found without parsing every row.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    audit_entries: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    audit_head: Mapped[str] = mapped_column(String(64))
    disclosure_entries: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    disclosure_head: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)
