"""Staff of member organisations: roles, their scopes, lockout and session lifetimes.

Pure: no I/O. A person signed in to the console acts as a principal of their
organisation, so a role can never give more than the organisation's kind allows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from orgs.rules import SCOPE_CEILING, OrganizationKind
from store.errors import ErrorCode, HubError


class StaffRole(StrEnum):
    ORG_ADMIN = "ORG_ADMIN"
    CASEWORKER = "CASEWORKER"
    OFFICER = "OFFICER"
    VIEWER = "VIEWER"
    COORDINATOR = "COORDINATOR"


_READ = frozenset({"orgs:read", "referrals:read", "repatriation:read", "events:subscribe"})

# What each role would hold in an organisation whose kind allowed everything; the kind's
# ceiling is applied on top (see ``role_scopes``).
ROLE_SCOPES: dict[StaffRole, frozenset[str]] = {
    # Staff, clients and webhooks of the organisation: no casework, no survivor data.
    # Webhooks are the API's `events:subscribe` (events carry ids, never survivor data).
    StaffRole.ORG_ADMIN: frozenset({"orgs:read", "clients:manage", "events:subscribe"}),
    StaffRole.CASEWORKER: _READ
    | {"cases:read", "cases:write", "consent:write", "referrals:write", "pii:read"},
    StaffRole.OFFICER: _READ | {"cases:read", "repatriation:write", "pii:read"},
    # Sees the workflow, never survivor fields (no pii:read), changes nothing.
    StaffRole.VIEWER: _READ | {"cases:read"},
    # Suppressed statistics (k-anonymous counts, no survivor data) for the desk's charts.
    StaffRole.COORDINATOR: _READ | {"network:admin", "statistics:read"},
}

# Roles that only make sense in one kind of organisation.
_ONLY_IN: dict[StaffRole, OrganizationKind] = {
    StaffRole.COORDINATOR: OrganizationKind.COORDINATOR,
}

INVITE_LIFETIME = timedelta(hours=72)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
RECOVERY_CODES = 8
MIN_PASSWORD_LENGTH = 12
# Failures allowed before the first delay; each failure after that doubles it.
FREE_FAILURES = 4
FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(hours=1)


def role_scopes(role: StaffRole, kind: OrganizationKind) -> frozenset[str]:
    """The scopes a person with ``role`` holds in an organisation of ``kind``."""
    return ROLE_SCOPES[role] & SCOPE_CEILING[kind]


def check_role_fits(role: StaffRole, kind: OrganizationKind) -> None:
    """Refuse a role that cannot exist in this kind of organisation."""
    only = _ONLY_IN.get(role)
    if only is not None and only is not kind:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"{role} exists only in a {only} organisation")


def may_invite(
    inviter_role: StaffRole | None,
    inviter_org: str | None,
    role: StaffRole,
    org: str,
) -> bool:
    """Who may invite whom: an organisation's admin invites its own staff; the
    coordinator invites the first admin of a member (and never casework roles there);
    the operator (``inviter_role`` None, no organisation) may invite anyone."""
    if inviter_role is None:
        return inviter_org is None
    if inviter_role is StaffRole.ORG_ADMIN:
        return inviter_org == org
    if inviter_role is StaffRole.COORDINATOR:
        return role is StaffRole.ORG_ADMIN or inviter_org == org
    return False


def lockout_delay(failures: int) -> timedelta:
    """How long sign-in stays closed after ``failures`` consecutive failures."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    doubled: timedelta = FIRST_DELAY * 2 ** min(failures - FREE_FAILURES - 1, 16)
    return min(doubled, LONGEST_DELAY)


def session_expired(created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    """A session ends 30 minutes after its last use, and 12 hours after sign-in at most."""
    return now - last_seen_at >= IDLE_TIMEOUT or now - created_at >= ABSOLUTE_TIMEOUT


def check_password(password: str) -> None:
    """A password long enough to resist guessing; length beats composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise HubError(
            ErrorCode.BAD_USER_INPUT,
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
        )
    if len(password) > 1024:
        raise HubError(ErrorCode.BAD_USER_INPUT, "the password is too long")


MAX_STATUS_REASON = 500


def check_status_change(by_role: StaffRole, by_staff_id: str, staff_id: str, reason: str) -> str:
    """Who may disable or re-enable a staff account, and the reason it needs (cleaned).

    Only the organisation's admin, and never her own account: that alone keeps every
    organisation with at least one enabled admin, since the admin acting stays enabled
    (an admin cannot lock the organisation out, by mistake or by a stolen session). A
    locked-out organisation's first admin is invited again by the coordinator.
    """
    if by_role is not StaffRole.ORG_ADMIN:
        raise HubError(ErrorCode.FORBIDDEN, "only the organisation's admin may do this")
    if by_staff_id == staff_id:
        raise HubError(ErrorCode.FORBIDDEN, "an admin may not disable or enable herself")
    cleaned = reason.strip()
    if not cleaned:
        raise HubError(ErrorCode.BAD_USER_INPUT, "a reason is required")
    if len(cleaned) > MAX_STATUS_REASON:
        raise HubError(ErrorCode.BAD_USER_INPUT, "the reason is too long")
    return cleaned
