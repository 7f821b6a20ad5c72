"""The memory of checked token signatures: bounded, expiring, and tied to the key that checked.

Only the stateless part of a token check is remembered (revocation and standing are read on
every request: tests/api/test_verified_token_cache.py shows that over HTTP).
"""

from __future__ import annotations

from typing import Any

from gateway.oauth.verified import VerifiedTokens

KEY = object()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def claims(exp: float, jti: str = "j-1") -> dict[str, Any]:
    return {"exp": exp, "jti": jti, "org": "o", "client_id": "c", "scope": "orgs:read"}


def test_a_checked_token_is_remembered_until_a_second_before_it_expires() -> None:
    clock = Clock(1_000.0)
    cache = VerifiedTokens(8, clock)
    cache.keep("token-a", "kid-1", KEY, claims(1_300))
    assert cache.get("token-a", {"kid-1": KEY}) == claims(1_300)
    clock.now = 1_298.5
    assert cache.get("token-a", {"kid-1": KEY}) == claims(1_300)
    clock.now = 1_299.0
    # From here the full check decides (and says "expired" once it is).
    assert cache.get("token-a", {"kid-1": KEY}) is None
    assert len(cache) == 0


def test_only_the_exact_token_text_hits() -> None:
    cache = VerifiedTokens(8, Clock(0.0))
    cache.keep("header.payload.signature", "kid-1", KEY, claims(100))
    published = {"kid-1": KEY}
    assert cache.get("header.payload.signaturf", published) is None
    assert cache.get("header.payload.signatur", published) is None
    assert cache.get("header.payload.signature ", published) is None
    assert cache.get("header.payload.signature", published) is not None


def test_a_key_no_longer_published_or_replaced_forgets_its_tokens() -> None:
    cache = VerifiedTokens(8, Clock(0.0))
    cache.keep("token-a", "kid-1", KEY, claims(100))
    cache.keep("token-b", "kid-1", KEY, claims(100, "j-2"))
    # The key was retired from the key set.
    assert cache.get("token-a", {"kid-2": object()}) is None
    # The key set was reloaded with other material under the same key id.
    assert cache.get("token-b", {"kid-1": object()}) is None
    assert len(cache) == 0


def test_the_cache_never_holds_more_than_its_capacity_and_drops_the_oldest() -> None:
    cache = VerifiedTokens(3, Clock(0.0))
    for n in range(10):
        cache.keep(f"token-{n}", "kid-1", KEY, claims(100, f"j-{n}"))
        assert len(cache) <= 3
    published = {"kid-1": KEY}
    assert [n for n in range(10) if cache.get(f"token-{n}", published)] == [7, 8, 9]


def test_callers_get_a_copy_they_cannot_corrupt_the_cache_with() -> None:
    cache = VerifiedTokens(8, Clock(0.0))
    original = claims(100)
    cache.keep("token-a", "kid-1", KEY, original)
    original["scope"] = "network:admin"
    got = cache.get("token-a", {"kid-1": KEY})
    assert got is not None and got["scope"] == "orgs:read"
    got["scope"] = "network:admin"
    again = cache.get("token-a", {"kid-1": KEY})
    assert again is not None and again["scope"] == "orgs:read"


def test_a_cache_of_capacity_zero_remembers_nothing() -> None:
    cache = VerifiedTokens(0, Clock(0.0))
    cache.keep("token-a", "kid-1", KEY, claims(100))
    assert cache.get("token-a", {"kid-1": KEY}) is None
