"""Disabling and re-enabling staff accounts, and the organisation's staff list.

One transaction each: the account's flag, its sessions ended (on disable), the history
row with the admin's reason, and an audit entry (which names the account, never the
reason: a reason is free text). The caller ends the person's live streams after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from orgs.staff import Person
from orgs.staff_models import StaffMember, StaffSession, StaffStatusChange
from orgs.staff_rules import StaffRole, check_status_change
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError
from store.types import utcnow


@dataclass(frozen=True, slots=True)
class StatusChange:
    disabled: bool
    reason: str
    by_name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StaffEntry:
    """One colleague as the staff page lists them (no secrets, no session data)."""

    staff_id: str
    display_name: str
    email: str
    role: StaffRole
    disabled: bool
    history: list[StatusChange]


async def set_disabled(
    db: Database, by: Person, staff_id: str, disabled: bool, reason: str
) -> None:
    """Disable (ending every session at once) or re-enable one account of the admin's own
    organisation. Another organisation's account is NOT_FOUND, as anywhere else."""
    async with db.write() as session:
        staff = await session.get(StaffMember, staff_id)
        if staff is None or staff.organization_id != by.organization_id:
            raise HubError(ErrorCode.NOT_FOUND, "no such person")
        why = check_status_change(by.role, by.staff_id, staff_id, reason)
        if staff.disabled == disabled:
            raise HubError(ErrorCode.CONFLICT, "the account is already in that state")
        now = utcnow()
        staff.disabled = disabled
        if disabled:
            await session.execute(
                update(StaffSession)
                .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
                .values(ended_at=now)
            )
        else:
            # A fresh start: failures counted before the disable no longer pause sign-in.
            staff.failed_attempts = 0
            staff.locked_until = None
        session.add(
            StaffStatusChange(
                staff_id=staff_id, disabled=disabled, reason=why, by_staff_id=by.staff_id, at=now
            )
        )
        await record_audit(
            session,
            actor_organization_id=by.organization_id,
            actor_client_id=None,
            action="staff.disable" if disabled else "staff.enable",
            subject_type="Staff",
            subject_id=staff_id,
        )


async def staff_of(db: Database, organization_id: str) -> list[StaffEntry]:
    """The organisation's people with their disable/enable history, oldest change first."""
    async with db.read() as session:
        people = list(
            await session.scalars(
                select(StaffMember)
                .where(StaffMember.organization_id == organization_id)
                .order_by(StaffMember.display_name, StaffMember.id)
            )
        )
        ids = [p.id for p in people]
        changes = (
            list(
                await session.scalars(
                    select(StaffStatusChange)
                    .where(StaffStatusChange.staff_id.in_(ids))
                    .order_by(StaffStatusChange.id)
                )
            )
            if ids
            else []
        )
    names = {p.id: p.display_name for p in people}
    history: dict[str, list[StatusChange]] = {}
    for change in changes:
        history.setdefault(change.staff_id, []).append(
            StatusChange(
                change.disabled, change.reason, names.get(change.by_staff_id, ""), change.at
            )
        )
    return [
        StaffEntry(
            p.id, p.display_name, p.email, StaffRole(p.role), p.disabled, history.get(p.id, [])
        )
        for p in people
    ]
