"""Tables for security keys (WebAuthn credentials) of staff, and their pending challenges.

A key's public half only: the private key never leaves the authenticator. The sign
count is kept so that a cloned key (whose counter lags the real one) can be noticed.
Challenges are held server-side, bound to one browser session, used once, short-lived.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class StaffSecurityKey(Base):
    __tablename__ = "staff_security_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    # base64url of the credential id (at most 1023 bytes by the WebAuthn spec).
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    # base64url of the COSE public key.
    public_key: Mapped[str] = mapped_column(Text())
    # Unsigned 32-bit in the spec: wider than a signed INTEGER.
    sign_count: Mapped[int] = mapped_column(BigInteger())
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebAuthnChallenge(Base):
    __tablename__ = "webauthn_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # SHA-256 of the session it belongs to: the signed-in session (registration) or the
    # pre-sign-in double-submit token (sign-in).
    binding_hash: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    challenge: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
