"""The relying party comes from the hub's public URL; key names are bounded."""

from __future__ import annotations

import pytest

from orgs.security_key_rules import MAX_KEY_NAME, RelyingParty, check_key_name
from store.errors import ErrorCode, HubError


@pytest.mark.parametrize(
    ("public_url", "rp_id", "origin"),
    [
        ("https://hub.example.org", "hub.example.org", "https://hub.example.org"),
        ("https://hub.example.org:8443/base", "hub.example.org", "https://hub.example.org:8443"),
        ("http://localhost:8000", "localhost", "http://localhost:8000"),
    ],
)
def test_the_relying_party_is_the_public_urls_host_and_origin(
    public_url: str, rp_id: str, origin: str
) -> None:
    rp = RelyingParty.from_public_url(public_url)
    assert (rp.id, rp.origin) == (rp_id, origin)


def test_a_public_url_without_a_host_is_refused() -> None:
    with pytest.raises(ValueError):
        RelyingParty.from_public_url("hub.example.org")


def test_key_names_are_trimmed_and_bounded() -> None:
    assert check_key_name("  Blue key ") == "Blue key"
    assert check_key_name("k" * MAX_KEY_NAME) == "k" * MAX_KEY_NAME
    for bad in ("", "   ", "k" * (MAX_KEY_NAME + 1)):
        with pytest.raises(HubError) as refused:
            check_key_name(bad)
        assert refused.value.code is ErrorCode.BAD_USER_INPUT
