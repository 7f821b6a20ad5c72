"""Membership rules, without a database: who may move to which status, who may hold which scope."""

from __future__ import annotations

import itertools

import pytest

from orgs.rules import (
    ALL_SCOPES,
    MAX_REASON,
    SCOPE_CEILING,
    MembershipAction,
    MembershipStatus,
    OrganizationKind,
    check_country,
    check_name,
    check_reason,
    check_scopes,
    next_status,
)
from store.errors import ErrorCode, HubError

S = MembershipStatus
A = MembershipAction
K = OrganizationKind

# The whole table, written out by hand: what each action does from each status.
ALLOWED: dict[tuple[MembershipStatus, MembershipAction], MembershipStatus] = {
    (S.PENDING, A.ACTIVATE): S.ACTIVE,
    (S.PENDING, A.REVOKE): S.REVOKED,
    (S.ACTIVE, A.SUSPEND): S.SUSPENDED,
    (S.ACTIVE, A.REVOKE): S.REVOKED,
    (S.SUSPENDED, A.REINSTATE): S.ACTIVE,
    (S.SUSPENDED, A.REVOKE): S.REVOKED,
}

EVERY_PAIR = list(itertools.product(MembershipStatus, MembershipAction))
REFUSED = [pair for pair in EVERY_PAIR if pair not in ALLOWED]


def test_the_table_covers_every_status_and_action() -> None:
    assert len(EVERY_PAIR) == 16
    assert len(ALLOWED) + len(REFUSED) == 16


@pytest.mark.parametrize(("current", "action"), list(ALLOWED))
def test_an_allowed_change_leads_to_the_right_status(
    current: MembershipStatus, action: MembershipAction
) -> None:
    assert next_status(current, action) is ALLOWED[(current, action)]


@pytest.mark.parametrize(("current", "action"), REFUSED)
def test_any_other_change_is_an_invalid_transition(
    current: MembershipStatus, action: MembershipAction
) -> None:
    with pytest.raises(HubError) as refused:
        next_status(current, action)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    assert current.value in refused.value.message


def test_a_revoked_membership_is_final() -> None:
    for action in MembershipAction:
        with pytest.raises(HubError) as refused:
            next_status(S.REVOKED, action)
        assert refused.value.code is ErrorCode.INVALID_TRANSITION


def test_a_pending_organisation_cannot_be_suspended_or_reinstated() -> None:
    for action in (A.SUSPEND, A.REINSTATE):
        with pytest.raises(HubError):
            next_status(S.PENDING, action)


# --- scopes --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(OrganizationKind))
def test_a_client_may_hold_its_kinds_whole_ceiling(kind: OrganizationKind) -> None:
    ceiling = sorted(SCOPE_CEILING[kind])
    assert check_scopes(kind, ceiling) == frozenset(ceiling)
    for scope in ceiling:
        assert check_scopes(kind, [scope]) == {scope}


@pytest.mark.parametrize(
    ("kind", "scope"),
    [
        (kind, scope)
        for kind in OrganizationKind
        for scope in sorted(ALL_SCOPES - SCOPE_CEILING[kind])
    ],
)
def test_each_scope_above_the_ceiling_is_refused(kind: OrganizationKind, scope: str) -> None:
    with pytest.raises(HubError) as refused:
        check_scopes(kind, [*sorted(SCOPE_CEILING[kind]), scope])
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
    assert scope in refused.value.message
    assert kind.value in refused.value.message


def test_every_kind_has_a_ceiling_within_the_known_scopes() -> None:
    assert set(SCOPE_CEILING) == set(OrganizationKind)
    for ceiling in SCOPE_CEILING.values():
        assert ceiling and ceiling <= ALL_SCOPES


def test_an_embassy_can_never_administer_the_network() -> None:
    assert "network:admin" not in SCOPE_CEILING[K.EMBASSY]
    with pytest.raises(HubError) as refused:
        check_scopes(K.EMBASSY, ["network:admin"])
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_only_the_coordinator_holds_network_admin() -> None:
    holders = {kind for kind in OrganizationKind if "network:admin" in SCOPE_CEILING[kind]}
    assert holders == {K.COORDINATOR}
    assert check_scopes(K.COORDINATOR, ["network:admin"]) == {"network:admin"}


def test_only_the_coordinator_may_scrape_metrics() -> None:
    holders = {kind for kind in OrganizationKind if "metrics:read" in SCOPE_CEILING[kind]}
    assert holders == {K.COORDINATOR}


def test_the_coordinator_never_sees_survivor_data() -> None:
    for scope in ("pii:read", "cases:read", "cases:write", "consent:write"):
        with pytest.raises(HubError):
            check_scopes(K.COORDINATOR, [scope])


def test_embassies_run_repatriation_but_own_no_cases_or_consent() -> None:
    assert check_scopes(K.EMBASSY, ["repatriation:write"]) == {"repatriation:write"}
    for scope in ("cases:write", "consent:write", "referrals:write"):
        with pytest.raises(HubError):
            check_scopes(K.EMBASSY, [scope])


def test_a_shelter_cannot_write_repatriation() -> None:
    with pytest.raises(HubError):
        check_scopes(K.SERVICE_PROVIDER, ["repatriation:write"])


@pytest.mark.parametrize("kind", list(OrganizationKind))
def test_an_unknown_scope_is_refused(kind: OrganizationKind) -> None:
    with pytest.raises(HubError) as refused:
        check_scopes(kind, ["orgs:read", "cases:delete"])
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
    assert "cases:delete" in refused.value.message


@pytest.mark.parametrize("kind", list(OrganizationKind))
def test_no_scope_at_all_is_refused(kind: OrganizationKind) -> None:
    with pytest.raises(HubError) as refused:
        check_scopes(kind, [])
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_a_scope_asked_twice_is_granted_once() -> None:
    assert check_scopes(K.LEGAL_AID, ["orgs:read", "orgs:read"]) == {"orgs:read"}


# --- country, reason, name -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"), [("KH", "KH"), ("th", "TH"), (" my ", "MY"), ("Cn", "CN"), ("vn", "VN")]
)
def test_a_country_is_an_upper_case_iso_code(given: str, stored: str) -> None:
    assert check_country(given) == stored


@pytest.mark.parametrize("given", ["", "K", "KHM", "Cambodia", "XX", "ZZ", "1A", "  "])
def test_anything_else_is_not_a_country(given: str) -> None:
    with pytest.raises(HubError) as refused:
        check_country(given)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_a_reason_is_trimmed() -> None:
    assert check_reason("  repeated missed case conferences \n") == (
        "repeated missed case conferences"
    )


@pytest.mark.parametrize("given", ["", "   ", "\n\t"])
def test_a_change_without_a_reason_is_refused(given: str) -> None:
    with pytest.raises(HubError) as refused:
        check_reason(given)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_a_reason_may_be_up_to_2000_characters() -> None:
    assert MAX_REASON == 2000
    assert check_reason("r" * MAX_REASON) == "r" * MAX_REASON
    with pytest.raises(HubError) as refused:
        check_reason("r" * (MAX_REASON + 1))
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_a_name_has_its_whitespace_collapsed() -> None:
    assert check_name("  CCPCR   Shelter\tPhnom Penh ") == "CCPCR Shelter Phnom Penh"


def test_a_name_is_2_to_200_characters() -> None:
    assert check_name("ab") == "ab"
    assert check_name("n" * 200) == "n" * 200
    for bad in ("", "a", "  a  ", "n" * 201):
        with pytest.raises(HubError) as refused:
            check_name(bad)
        assert refused.value.code is ErrorCode.BAD_USER_INPUT
