"""Incident groups: who sees a group and who may add to it. Pure: no I/O.

A group says only what the incident was and where; which survivors are in it is released
case by case through the one case filter, never through the group.
"""

from __future__ import annotations

from enum import StrEnum


class IncidentKind(StrEnum):
    FISHING_VESSEL = "FISHING_VESSEL"
    SCAM_COMPOUND = "SCAM_COMPOUND"
    FACTORY = "FACTORY"
    PLANTATION = "PLANTATION"
    CONSTRUCTION_SITE = "CONSTRUCTION_SITE"
    DOMESTIC_WORK = "DOMESTIC_WORK"
    ENTERTAINMENT_VENUE = "ENTERTAINMENT_VENUE"
    OTHER = "OTHER"


MAX_MEMBERS = 20


def sees_group(organization_id: str | None, members: frozenset[str]) -> bool:
    """A group exists for its member organisations only (others get NOT_FOUND)."""
    return organization_id is not None and organization_id in members


def may_add_case(
    organization_id: str | None, members: frozenset[str], case_owner: str
) -> str | None:
    """Why ``organization_id`` may not add a case it sees (None: it may). A case joins a
    group by its owner's hand only: a survivor's record is not linked by anyone else."""
    if not sees_group(organization_id, members):
        return "NOT_FOUND"
    if case_owner != organization_id:
        return "FORBIDDEN"
    return None
