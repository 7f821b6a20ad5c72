"""Sealing survivor fields at rest, without a database."""

from __future__ import annotations

import os

import pytest

from store.sealed import FieldCipher, SealError

OLD, NEW = os.urandom(32), os.urandom(32)
PLACE = {"table": "cases", "column": "full_name", "row_id": "case-1"}


def test_a_sealed_name_opens_in_its_own_place_and_shows_nothing_in_between() -> None:
    cipher = FieldCipher({"k1": OLD}, "k1")
    envelope = cipher.seal("Sok Dara", **PLACE)
    assert "Sok" not in envelope and "Dara" not in envelope
    assert envelope.startswith("v1.k1.")
    assert cipher.open(envelope, **PLACE) == "Sok Dara"


def test_the_same_name_seals_differently_every_time() -> None:
    cipher = FieldCipher({"k1": OLD}, "k1")
    assert cipher.seal("Sok Dara", **PLACE) != cipher.seal("Sok Dara", **PLACE)


@pytest.mark.parametrize(
    "moved",
    [
        {"table": "cases", "column": "full_name", "row_id": "case-2"},
        {"table": "cases", "column": "phone", "row_id": "case-1"},
        {"table": "referrals", "column": "full_name", "row_id": "case-1"},
    ],
)
def test_a_value_copied_to_another_row_or_column_does_not_open(moved: dict[str, str]) -> None:
    cipher = FieldCipher({"k1": OLD}, "k1")
    envelope = cipher.seal("Sok Dara", **PLACE)
    with pytest.raises(SealError):
        cipher.open(envelope, **moved)


def test_a_tampered_value_does_not_open() -> None:
    cipher = FieldCipher({"k1": OLD}, "k1")
    envelope = cipher.seal("Sok Dara", **PLACE)
    flipped = envelope[:-2] + ("A" if envelope[-2] != "A" else "B") + envelope[-1]
    with pytest.raises(SealError):
        cipher.open(flipped, **PLACE)


def test_after_rotation_old_values_still_open_and_are_marked_for_resealing() -> None:
    before = FieldCipher({"k1": OLD}, "k1").seal("Sok Dara", **PLACE)
    rotated = FieldCipher({"k1": OLD, "k2": NEW}, "k2")
    assert rotated.open(before, **PLACE) == "Sok Dara"
    assert rotated.needs_reseal(before)
    resealed = rotated.seal(rotated.open(before, **PLACE), **PLACE)
    assert not rotated.needs_reseal(resealed)
    assert FieldCipher({"k2": NEW}, "k2").open(resealed, **PLACE) == "Sok Dara"


def test_a_value_sealed_with_an_unknown_key_does_not_open() -> None:
    envelope = FieldCipher({"k1": OLD}, "k1").seal("Sok Dara", **PLACE)
    with pytest.raises(SealError):
        FieldCipher({"k2": NEW}, "k2").open(envelope, **PLACE)


def test_a_key_ring_must_hold_proper_keys() -> None:
    with pytest.raises(ValueError):
        FieldCipher({"k1": b"short"}, "k1")
    with pytest.raises(ValueError):
        FieldCipher({"k1": OLD}, "k2")
