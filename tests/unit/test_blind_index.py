"""The blind index: spellings of one name meet, other people stay apart, every data key of
the ring indexes, and nothing is kept that reads back without the key."""

from __future__ import annotations

from datetime import date

import pytest

from cases.blind_index import PURPOSE, digest, entries, normalise_name
from store.sealed import FieldCipher

ONE = {"k1": bytes(range(32))}
TWO = {"k1": bytes(range(32)), "k2": bytes(range(1, 33))}


@pytest.mark.parametrize(
    "spelling",
    [
        "Sok Srey Mom",
        "SREY MOM SOK",
        "Mom  Sok-Srei",
        "sok srey mom",
        "Sôk Srey Mom",
        "Sokk Srey Mom",
    ],
)
def test_spellings_of_one_latin_name_meet(spelling: str) -> None:
    assert normalise_name(spelling) == normalise_name("Sok Srey Mom")


def test_khmer_names_meet_across_zero_width_and_order() -> None:
    assert normalise_name("សុខ ស្រីមុំ") == normalise_name("ស្រីមុំ\u200b សុខ")
    assert normalise_name("សុខ ស្រីមុំ") == normalise_name("សុខ\u00a0ស្រីមុំ")


@pytest.mark.parametrize("other", ["Sok Sreymao", "Sok Srey", "Chan Srey Mom", "សុខ ស្រីមៅ"])
def test_other_names_stay_apart(other: str) -> None:
    assert normalise_name(other) != normalise_name("Sok Srey Mom")
    assert normalise_name(other) != normalise_name("សុខ ស្រីមុំ")


def test_the_digest_depends_on_key_name_birth_and_sex() -> None:
    base = digest(ONE["k1"], "Sok Srey Mom", "2001-04-12", "FEMALE")
    assert len(base) == 64 and "sok" not in base
    assert base == digest(ONE["k1"], "Mom Sok Srei", "2001-04-12", "FEMALE")
    assert base != digest(TWO["k2"], "Sok Srey Mom", "2001-04-12", "FEMALE")
    assert base != digest(ONE["k1"], "Sok Srey Mom", "2001-04-13", "FEMALE")
    assert base != digest(ONE["k1"], "Sok Srey Mom", "2001-04-12", "MALE")


def test_every_key_of_the_ring_indexes_every_name() -> None:
    survivor = {
        "fullName": "Sok Srey Mom",
        "otherNames": ["សុខ ស្រីមុំ", "Mom Sok Srey", " "],
        "dateOfBirth": date(2001, 4, 12),
    }
    found = entries(TWO, survivor, "FEMALE")
    # two distinct names (the reordered one is the same) under each of two keys
    assert sorted({kid for kid, _ in found}) == ["k1", "k2"]
    assert len(found) == 4
    assert entries(TWO, {"fullName": "Sok Srey Mom"}, "FEMALE") == []
    assert entries(TWO, {"dateOfBirth": "2001-04-12"}, "FEMALE") == []


def test_subkeys_rotate_with_the_data_keys_and_are_not_the_data_keys() -> None:
    ring = FieldCipher(TWO, "k2").derive(PURPOSE)
    assert sorted(ring) == ["k1", "k2"]
    assert ring["k1"] != TWO["k1"] and ring["k1"] != ring["k2"]
    assert FieldCipher(ONE, "k1").derive(PURPOSE)["k1"] == ring["k1"]
    assert FieldCipher(ONE, "k1").derive("another purpose")["k1"] != ring["k1"]
