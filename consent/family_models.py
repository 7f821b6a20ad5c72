"""The recorded basis of a family member's consent (grantor FAMILY)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class FamilyConsentBasis(Base):
    """Why a family member consented for a person who cannot yet: who reported, how they
    are related, why she cannot consent now. Sealed JSON; read by the case owner only."""

    __tablename__ = "family_consent_bases"

    grant_id: Mapped[str] = mapped_column(ForeignKey("consent_grants.id"), primary_key=True)
    basis_sealed: Mapped[str] = mapped_column(Text)
