"""Pure rules behind the socket and token checks: which close code a refusal gets, when a
token is from before a cut-off, and what production error messages keep."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.oauth.server import FAILED_AUTHENTICATION, authentication_failed, stand_in
from gateway.oauth.verify import ClientStanding, TokenRejected, cutoff_second
from gateway.socket_guard import close_for
from schema.errors import without_suggestions


@pytest.mark.parametrize(
    ("rejected", "expected"),
    [
        (TokenRejected("invalid token: ExpiredSignatureError"), (4403, "token expired")),
        (TokenRejected("token revoked"), (4403, "token revoked")),
        (
            TokenRejected("issued before a suspension or a client disable"),
            (4403, "token not valid"),
        ),
        (
            TokenRejected("organisation not active", renewable=False),
            (1008, "organisation not active"),
        ),
        (TokenRejected("client disabled", renewable=False), (1008, "client disabled")),
    ],
)
def test_a_refusal_a_new_token_fixes_is_4403_and_any_other_1008(
    rejected: TokenRejected, expected: tuple[int, str]
) -> None:
    refusal = close_for(rejected)
    assert (refusal.close_code, refusal.reason) == expected


def standing(cutoff: int | None, *, enabled: bool = True, status: str = "ACTIVE") -> ClientStanding:
    return ClientStanding("org", "SERVICE_PROVIDER", status, enabled, frozenset(), cutoff)


def test_a_token_issued_at_or_before_the_cut_off_second_is_too_early() -> None:
    assert standing(1000).issued_too_early(999)
    assert standing(1000).issued_too_early(1000)
    assert not standing(1000).issued_too_early(1001)
    assert not standing(None).issued_too_early(0)


def test_the_later_of_the_organisation_and_client_cut_offs_counts() -> None:
    early = datetime(2026, 1, 1, 12, 0, 0, 900_000, tzinfo=UTC)
    late = datetime(2026, 3, 1, tzinfo=UTC)
    assert cutoff_second(early, None) == int(early.timestamp())
    assert cutoff_second(early, late) == int(late.timestamp())
    assert cutoff_second(None, None) is None


def test_standing_refusals_name_what_the_client_may_be_told() -> None:
    assert standing(None).refusal is None
    assert standing(None, enabled=False).refusal == "client disabled"
    assert standing(None, status="SUSPENDED").refusal == "organisation not active"


def test_an_unknown_client_never_authenticates_whatever_it_sends() -> None:
    ghost = stand_in("rh_nobody")
    assert not ghost.check_client_secret("")
    assert not ghost.check_client_secret("rhs_anything")
    assert ghost.check_endpoint_auth_method("client_secret_basic", "token")
    assert not ghost.check_endpoint_auth_method("private_key_jwt", "token")
    error = authentication_failed()
    assert (error.status_code, error.get_error_description()) == (401, FAILED_AUTHENTICATION)


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (
            "Cannot query field 'fulName' on type 'Case'. Did you mean 'fullName'?",
            "Cannot query field 'fulName' on type 'Case'.",
        ),
        (
            "Unknown argument 'statuss' on field 'Query.organizations'. Did you mean 'status'?",
            "Unknown argument 'statuss' on field 'Query.organizations'.",
        ),
        (
            "Value 'ACTIV' does not exist in 'MembershipStatus' enum. Did you mean the enum value"
            " 'ACTIVE'?",
            "Value 'ACTIV' does not exist in 'MembershipStatus' enum.",
        ),
        ("Cannot query field 'x' on type 'Query'.", "Cannot query field 'x' on type 'Query'."),
    ],
)
def test_suggestions_are_cut_from_messages(message: str, kept: str) -> None:
    assert without_suggestions(message) == kept
