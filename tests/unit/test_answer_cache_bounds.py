"""The answer cache's own rules (gateway/answers.py): bounded memory, generation, TTL, keys,
and its setting."""

from __future__ import annotations

import time

import pytest

from gateway.answers import Answer, AnswerCache, answer_key
from gateway.settings import SettingsError, load_settings
from orgs.principal import Principal

ADHOC = Principal("org-1", "client-1", frozenset({"referrals:read"}), "NGO", "jti-1", "r1", 99)


def answer(generation: object, size: int = 10) -> Answer:
    return Answer(generation, time.monotonic(), 200, (), b"x" * size, "referrals", "query")


def key(n: int) -> tuple[object, ...]:
    found = answer_key(ADHOC, "POST", "application/json", f"q{n}", None, None)
    assert found is not None
    return found


def test_least_recently_used_go_first_by_count_and_by_bytes() -> None:
    cache = AnswerCache(60, max_entries=2, max_bytes=100)
    cache.put(key(1), answer(1))
    cache.put(key(2), answer(1))
    assert cache.get(key(1), 1) is not None  # 1 is now the most recent
    cache.put(key(3), answer(1))
    assert len(cache) == 2 and cache.get(key(2), 1) is None and cache.get(key(1), 1)
    cache.put(key(4), answer(1, 20))
    cache.put(key(5), answer(1, 20))
    assert len(cache) == 2
    big = AnswerCache(60, max_entries=10, max_bytes=100)
    for n in range(5):
        big.put(key(n), answer(1, 20))
    big.put(key(9), answer(1, 20))
    assert big._bytes <= 100 and big.get(key(0), 1) is None
    big.put(key(10), answer(1, 30))  # more than a quarter of the cache: never stored
    assert big.get(key(10), 1) is None


def test_another_generation_or_an_old_entry_is_a_miss() -> None:
    cache = AnswerCache(60)
    cache.put(key(1), answer("g1"))
    assert cache.get(key(1), "g2") is None
    assert cache.get(key(1), "g1") is None  # dropped by the miss
    cache.put(key(1), answer("g1"))
    cache.ttl = 0.0001
    time.sleep(0.001)
    assert cache.get(key(1), "g1") is None


def test_every_part_of_the_principal_and_request_is_in_the_key() -> None:
    base = answer_key(ADHOC, "POST", "application/json", "q", None, {"a": 1, "b": 2})
    same = answer_key(ADHOC, "POST", "application/json", "q", None, {"b": 2, "a": 1})
    assert base == same  # canonical variables
    others = [
        answer_key(
            Principal("org-2", "client-1", ADHOC.scopes, "NGO", "jti-1", "r1", 99),
            "POST",
            "application/json",
            "q",
            None,
            {"a": 1, "b": 2},
        ),
        answer_key(
            Principal("org-1", "client-2", ADHOC.scopes, "NGO", "jti-1", "r1", 99),
            "POST",
            "application/json",
            "q",
            None,
            {"a": 1, "b": 2},
        ),
        answer_key(
            Principal("org-1", "client-1", frozenset(), "NGO", "jti-1", "r1", 99),
            "POST",
            "application/json",
            "q",
            None,
            {"a": 1, "b": 2},
        ),
        answer_key(
            Principal("org-1", "client-1", ADHOC.scopes, "NGO", "jti-2", "r1", 99),
            "POST",
            "application/json",
            "q",
            None,
            {"a": 1, "b": 2},
        ),
        answer_key(
            Principal("org-1", "client-1", ADHOC.scopes, "NGO", "jti-1", "r1", 99, staff_id="s"),
            "POST",
            "application/json",
            "q",
            None,
            {"a": 1, "b": 2},
        ),
        answer_key(ADHOC, "GET", "application/json", "q", None, {"a": 1, "b": 2}),
        answer_key(ADHOC, "POST", "application/graphql-response+json", "q", None, {"a": 1, "b": 2}),
        answer_key(ADHOC, "POST", "application/json", "q ", None, {"a": 1, "b": 2}),
        answer_key(ADHOC, "POST", "application/json", "q", "Q", {"a": 1, "b": 2}),
        answer_key(ADHOC, "POST", "application/json", "q", None, {"a": 1, "b": 3}),
    ]
    assert all(other != base for other in others)
    # Another request id (the only per-request part) is the same key.
    again = Principal("org-1", "client-1", ADHOC.scopes, "NGO", "jti-1", "r2", 99)
    assert answer_key(again, "POST", "application/json", "q", None, {"a": 1, "b": 2}) == base
    assert answer_key(Principal("o", "c"), "POST", "application/json", "q", None, None) is None


def test_the_setting() -> None:
    assert load_settings({}).answer_cache_seconds == 2.0
    assert load_settings({"HUB_ANSWER_CACHE_SECONDS": "0"}).answer_cache_seconds == 0.0
    assert load_settings({"HUB_ANSWER_CACHE_SECONDS": "0.5"}).answer_cache_seconds == 0.5
    for bad in ("-1", "61", "soon"):
        with pytest.raises(SettingsError):
            load_settings({"HUB_ANSWER_CACHE_SECONDS": bad})
    assert not AnswerCache(0).enabled and AnswerCache(2).enabled
