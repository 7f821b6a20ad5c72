"""What a member may register for itself at /oauth/register, decided without a database."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import ECKey

from orgs.registration_rules import check_registration, registration_token_lifetime
from orgs.rules import SCOPE_CEILING, OrganizationKind
from store.errors import ErrorCode, HubError

K = OrganizationKind


def test_a_secret_client_within_the_ceiling_is_accepted() -> None:
    checked = check_registration(
        K.EMBASSY, {"scope": "orgs:read repatriation:write", "client_name": "  Consular  desk "}
    )
    assert checked.scopes == {"orgs:read", "repatriation:write"}
    assert checked.name == "Consular desk"
    assert (checked.auth_method, checked.uses_secret, checked.jwks) == (
        "client_secret_basic",
        True,
        None,
    )


def test_a_key_client_keeps_only_public_keys() -> None:
    public = ECKey.generate_key("P-256").as_dict(private=False)
    checked = check_registration(
        K.LEGAL_AID,
        {"scope": "cases:read", "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [public]}},
    )  # fmt: skip
    assert checked.uses_secret is False
    assert checked.jwks == {"keys": [public]}


@pytest.mark.parametrize("kind", list(OrganizationKind))
def test_no_kind_registers_a_scope_above_its_ceiling(kind: OrganizationKind) -> None:
    above = sorted({"network:admin", "pii:read", "repatriation:write"} - SCOPE_CEILING[kind])
    for scope in above:
        with pytest.raises(HubError) as refused:
            check_registration(kind, {"scope": f"orgs:read {scope}"})
        assert refused.value.code == ErrorCode.BAD_USER_INPUT
    assert (
        check_registration(kind, {"scope": " ".join(sorted(SCOPE_CEILING[kind]))}).scopes
        == (SCOPE_CEILING[kind])
    )


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"scope": ""},
        {"scope": "orgs:read", "token_endpoint_auth_method": "none"},
        {"scope": "orgs:read", "grant_types": ["client_credentials", "authorization_code"]},
        {"scope": "orgs:read", "response_types": ["code"]},
        {"scope": "orgs:read", "redirect_uris": ["https://x.example/cb"]},
        {"scope": "orgs:read", "jwks_uri": "https://x.example/jwks"},
        {"scope": "orgs:read", "token_endpoint_auth_method": "private_key_jwt"},
        {"scope": "orgs:read", "jwks": {"keys": []}},
        {"scope": "orgs:read", "client_name": 7},
        {"scope": "orgs:read", "client_name": "x"},
    ],
)
def test_what_is_not_a_machine_client_of_the_hub_is_refused(metadata: dict[str, Any]) -> None:
    with pytest.raises(HubError) as refused:
        check_registration(K.SERVICE_PROVIDER, metadata)
    assert refused.value.code == ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize(("hours", "ok"), [(0, False), (1, True), (168, True), (169, False)])
def test_a_registration_token_lives_an_hour_to_a_week(hours: int, ok: bool) -> None:
    if ok:
        assert registration_token_lifetime(hours).total_seconds() == hours * 3600
    else:
        with pytest.raises(HubError):
            registration_token_lifetime(hours)
