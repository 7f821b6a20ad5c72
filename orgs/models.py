"""Tables for organisations, their membership history and their API clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    country: Mapped[str] = mapped_column(String(2))
    areas_served: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    website: Mapped[str | None] = mapped_column(String(300), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set at every suspension and revocation: tokens issued until then stay dead for good.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MembershipChange(Base):
    """One change of an organisation's membership status, kept forever."""

    __tablename__ = "membership_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    by_client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiClient(Base):
    """An OAuth client (a partner system) acting for one organisation."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set when the client is disabled: its earlier tokens stay dead even if re-enabled.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When a token was last issued to it (to the hour: noted at most hourly per process), for
    # the coordinator's list of unused clients (migration 0018).
    last_token_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ServiceOffer(Base):
    """A service an organisation offers in the directory, with its eligibility and capacity."""

    __tablename__ = "service_offers"
    __table_args__ = (UniqueConstraint("organization_id", "category"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    areas_served: Mapped[list[str]] = mapped_column(JSON)
    min_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sexes: Mapped[list[str]] = mapped_column(JSON)
    languages: Mapped[list[str]] = mapped_column(JSON)
    capacity_status: Mapped[str] = mapped_column(String(16))
    available: Mapped[int | None] = mapped_column(Integer, nullable=True)
    maximum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    capacity_updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegistrationToken(Base):
    """A single-use initial access token (RFC 7591) a coordinator issued for one organisation.

    Only a hash is kept. The member presents the token once at ``/oauth/register`` to
    register a client of its own, so the coordinator never sees that client's credentials.
    """

    __tablename__ = "registration_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    issued_by_organization_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    issued_by_client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
