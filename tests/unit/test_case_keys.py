"""Case keys: a value sealed under one case's key opens only with that key, in its place;
and a backup's wrapped key stops opening once the data key that wrapped it is retired."""

from __future__ import annotations

import os

import pytest

from store.case_keys import CaseKey, open_sealed, unwrap, wrap
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
