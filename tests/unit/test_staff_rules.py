"""Roles, lockout and session lifetimes of console staff: pure rules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from orgs.rules import SCOPE_CEILING, OrganizationKind
from orgs.staff_rules import (
    StaffRole,
    check_password,
    check_role_fits,
    lockout_delay,
    may_invite,
    role_scopes,
    session_expired,
)
from store.errors import HubError


@pytest.mark.parametrize("kind", list(OrganizationKind))
@pytest.mark.parametrize("role", list(StaffRole))
def test_a_role_never_exceeds_its_organisations_ceiling(
    role: StaffRole, kind: OrganizationKind
) -> None:
    assert role_scopes(role, kind) <= SCOPE_CEILING[kind]


def test_only_caseworkers_and_officers_read_survivor_identity() -> None:
    kind = OrganizationKind.LEGAL_AID
    readers = {r for r in StaffRole if "pii:read" in role_scopes(r, kind)}
    assert readers == {StaffRole.CASEWORKER, StaffRole.OFFICER}
    assert "referrals:write" not in role_scopes(StaffRole.VIEWER, kind)
    assert "cases:read" not in role_scopes(StaffRole.ORG_ADMIN, kind)


def test_the_coordinator_sees_no_survivor_data_whatever_the_role() -> None:
    kind = OrganizationKind.COORDINATOR
    for role in StaffRole:
        assert not {"pii:read", "cases:read"} & role_scopes(role, kind)


def test_the_coordinator_role_exists_only_at_the_secretariat() -> None:
    check_role_fits(StaffRole.COORDINATOR, OrganizationKind.COORDINATOR)
    with pytest.raises(HubError):
        check_role_fits(StaffRole.COORDINATOR, OrganizationKind.SERVICE_PROVIDER)


def test_who_may_invite_whom() -> None:
    assert may_invite(StaffRole.ORG_ADMIN, "a", StaffRole.CASEWORKER, "a")
    assert not may_invite(StaffRole.ORG_ADMIN, "a", StaffRole.CASEWORKER, "b")
    assert may_invite(StaffRole.COORDINATOR, "sec", StaffRole.ORG_ADMIN, "b")
    assert not may_invite(StaffRole.COORDINATOR, "sec", StaffRole.CASEWORKER, "b")
    assert not may_invite(StaffRole.CASEWORKER, "a", StaffRole.CASEWORKER, "a")
    assert may_invite(None, None, StaffRole.ORG_ADMIN, "a")  # the operator
    assert not may_invite(None, "a", StaffRole.ORG_ADMIN, "a")


def test_the_lockout_delay_starts_after_a_few_failures_and_grows_to_an_hour() -> None:
    delays = [lockout_delay(n) for n in range(0, 20)]
    assert delays[:5] == [timedelta(0)] * 5
    assert delays[5] == timedelta(seconds=30)
    assert delays[6] == timedelta(seconds=60)
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert delays[-1] == timedelta(hours=1)


def test_sessions_end_after_idle_time_or_their_absolute_lifetime() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert not session_expired(start, start, start + timedelta(minutes=29))
    assert session_expired(start, start, start + timedelta(minutes=30))
    busy = start + timedelta(hours=11, minutes=59)
    assert not session_expired(start, busy, busy + timedelta(seconds=30))
    assert session_expired(start, busy, start + timedelta(hours=12))


def test_short_passwords_are_refused() -> None:
    with pytest.raises(HubError):
        check_password("short")
    check_password("twelve chars")
