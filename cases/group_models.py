"""Tables for incident groups: survivors of one incident (a fishing boat, a compound)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base
from store.types import UTCDateTime


class IncidentGroup(Base):
    """The incident, by what it was and where: no survivor data, so no free text."""

    __tablename__ = "incident_groups"
    __table_args__ = (UniqueConstraint("created_by_organization_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    country: Mapped[str] = mapped_column(String(2))
    created_by_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentGroupMember(Base):
    """An organisation taking part in a group: named at creation, or party to its return."""

    __tablename__ = "incident_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("incident_groups.id"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentGroupCase(Base):
    """A case in a group, added by the organisation that owns it."""

    __tablename__ = "incident_group_cases"

    group_id: Mapped[str] = mapped_column(ForeignKey("incident_groups.id"), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    added_by_organization_id: Mapped[str] = mapped_column(String(36))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupRepatriation(Base):
    """One repatriation of several survivors of a group: one embassy, one travel plan, a
    repatriation request per survivor (each under her own consent)."""

    __tablename__ = "group_repatriations"
    __table_args__ = (UniqueConstraint("requester_organization_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("incident_groups.id"), index=True)
    requester_organization_id: Mapped[str] = mapped_column(String(36), index=True)
    embassy_organization_id: Mapped[str] = mapped_column(String(36))
    reception_organization_id: Mapped[str] = mapped_column(String(36))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupRepatriationMember(Base):
    """A survivor's own repatriation request inside a group repatriation."""

    __tablename__ = "group_repatriation_members"

    group_repatriation_id: Mapped[str] = mapped_column(
        ForeignKey("group_repatriations.id"), primary_key=True
    )
    request_id: Mapped[str] = mapped_column(
        ForeignKey("repatriation_requests.id"), primary_key=True, index=True
    )


class GroupRepatriationHeld(Base):
    """A survivor of a group repatriation held back on her own (her consent does not cover
    the parties): her case id, a code and a reason code, never anything about her."""

    __tablename__ = "group_repatriation_held"

    group_repatriation_id: Mapped[str] = mapped_column(
        ForeignKey("group_repatriations.id"), primary_key=True
    )
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(48))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
