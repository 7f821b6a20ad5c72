"""Case keys: a value sealed under one case's key opens only with that key, in its place;
and a backup's wrapped key stops opening once the data key that wrapped it is retired."""

from __future__ import annotations

import os

import pytest

from store.case_keys import CaseKey, UnwrappedKeys, forget_keys, open_sealed, unwrap, wrap
from store.sealed import FieldCipher, SealError

PLACE = {"table": "case_fields", "column": "fullName", "row_id": "case-1"}


def test_a_case_value_opens_with_its_own_key_in_its_own_place_only() -> None:
    key, _ = CaseKey.generate()
    other, _ = CaseKey.generate()
    sealed = key.seal('"Chanthy"', **PLACE)
    assert sealed.startswith("c1.") and "Chanthy" not in sealed
    assert key.open(sealed, **PLACE) == '"Chanthy"'
    with pytest.raises(SealError):
        other.open(sealed, **PLACE)
    with pytest.raises(SealError):
        key.open(sealed, **{**PLACE, "row_id": "case-2"})


def test_without_its_case_key_a_value_does_not_open_and_hub_sealed_values_still_do() -> None:
    hub = FieldCipher({"k1": os.urandom(32)}, "k1")
    key, _ = CaseKey.generate()
    with pytest.raises(SealError):
        open_sealed(hub, None, key.seal("x", **PLACE), **PLACE)
    # values sealed before case keys existed (v1, under the hub key) open as before
    assert open_sealed(hub, None, hub.seal("old", **PLACE), **PLACE) == "old"
    assert open_sealed(hub, key, hub.seal("old", **PLACE), **PLACE) == "old"


def test_a_backups_wrapped_key_stops_opening_when_its_data_key_is_retired() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    before = FieldCipher({"k1": k1}, "k1")
    key, raw = CaseKey.generate()
    value = key.seal("her name", **PLACE)
    in_backup = wrap(before, raw, "case-1")
    assert unwrap(before, in_backup, "case-1").open(value, **PLACE) == "her name"

    # Rotation re-wraps the live key under k2; k1 is destroyed once the backup expires
    rotated = FieldCipher({"k2": k2, "k1": k1}, "k2")
    live = wrap(rotated, raw, "case-1")
    assert unwrap(rotated, live, "case-1").open(value, **PLACE) == "her name"
    retired = FieldCipher({"k2": k2}, "k2")
    with pytest.raises(SealError):
        unwrap(retired, in_backup, "case-1")
    # and a wrapped key moved to another case does not open either
    with pytest.raises(SealError):
        unwrap(retired, live, "case-2")


def test_an_unwrapped_key_is_reused_only_for_the_same_wrapped_text_and_ring() -> None:
    ring = FieldCipher({"k1": os.urandom(32)}, "k1")
    raw = os.urandom(32)
    wrapped = wrap(ring, raw, "case-1")
    first = unwrap(ring, wrapped, "case-1")
    assert unwrap(ring, wrapped, "case-1") is first
    # re-wrapped (rotation): a new entry, the same key inside
    rewrapped = wrap(ring, raw, "case-1")
    again = unwrap(ring, rewrapped, "case-1")
    assert again is not first
    assert again.open(first.seal("x", **PLACE), **PLACE) == "x"
    # another ring without the wrapping key id never gets the cached key
    stranger = FieldCipher({"k2": os.urandom(32)}, "k2")
    with pytest.raises(SealError):
        unwrap(stranger, wrapped, "case-1")
    # bound to its case: the same text under another case id does not open
    with pytest.raises(SealError):
        unwrap(ring, wrapped, "case-2")


def test_erasure_drops_her_cached_keys_and_the_cache_stays_bounded() -> None:
    ring = FieldCipher({"k1": os.urandom(32)}, "k1")
    wrapped = wrap(ring, os.urandom(32), "case-9")
    first = unwrap(ring, wrapped, "case-9")
    forget_keys({"case-9"})
    assert unwrap(ring, wrapped, "case-9") is not first
    cache = UnwrappedKeys(size=2)
    keys = [CaseKey.generate()[0] for _ in range(3)]
    for n, key in enumerate(keys):
        cache.put(f"case-{n}", "w", key)
    assert len(cache) == 2 and cache.get("case-0", "w") is None
    assert cache.get("case-2", "w") is keys[2]
    cache.forget({"case-2"})
    assert cache.get("case-2", "w") is None and cache.get("case-1", "w") is keys[1]
