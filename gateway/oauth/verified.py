"""Tokens whose signature and claims were already checked, kept until they expire.

A partner system sends the same access token with every request for its whole lifetime;
checking the ES256 signature and the claims again each time (PyJWT walks the token's
characters in Python, then the curve arithmetic) was a fixed cost of every request. What a
signature check proves cannot change while the token lives, as long as the key that signed
it is still published: an entry remembers the key that checked it and is used only while the
key set still holds that very key under that key id (a reloaded, changed key set checks
every token once more). Only *stateless* checks are remembered: revocation, client standing and the
organisation's membership are read from the database on every request as before.

The cache is keyed by the whole token text (signature included), so a token that differs in
any byte is checked from scratch; it holds at most ``capacity`` entries (the oldest go first)
and drops an entry once its ``exp`` has passed, so an expired token meets the full check and
its precise refusal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class _Verified:
    kid: str
    key: object
    expires: float
    claims: dict[str, Any]


class VerifiedTokens:
    """A bounded map from token text to the claims its full check returned."""

    def __init__(self, capacity: int, clock: Callable[[], float] = time.time) -> None:
        self.capacity = capacity
        self._clock = clock
        self._entries: dict[str, _Verified] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, published: Mapping[str, object]) -> dict[str, Any] | None:
        """A copy of the claims of a token checked before, still unexpired, whose key is
        still the one ``published`` (key id to key) holds; otherwise None."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        # A second before ``exp`` the full check decides again (with its leeway, and with
        # the precise "expired" refusal once it is).
        if entry.expires <= self._clock() + 1 or published.get(entry.kid) is not entry.key:
            del self._entries[token]
            return None
        return dict(entry.claims)

    def keep(self, token: str, kid: str, key: object, claims: dict[str, Any]) -> None:
        """Remember a token that just passed the full check."""
        if self.capacity <= 0:
            return
        while len(self._entries) >= self.capacity:
            # dicts keep insertion order: the first key is the oldest entry.
            del self._entries[next(iter(self._entries))]
        self._entries[token] = _Verified(kid, key, float(claims["exp"]), dict(claims))

    def clear(self) -> None:
        self._entries.clear()
