"""Places are found by ISO code or by any name caseworkers write, and coverage ranks them."""

from __future__ import annotations

import pycountry
import pytest

from orgs.place_names import CAMBODIAN_PROVINCES
from orgs.places import EXACT, PART_OF_COUNTRY, WHOLE_COUNTRY, coverage, find_place, normalise


@pytest.mark.parametrize(
    "written",
    [
        "KH-9",
        "kh-9",
        "Koh Kong",
        "Kaoh Kong",
        "koh-kong",
        " KOH  KONG ",
        "Koh Kong Province",
        "កោះកុង",
        "ខេត្តកោះកុង",
        "កោះ\u200bកុង",
    ],
)
def test_koh_kong_is_found_in_every_spelling(written: str) -> None:
    found = find_place(written)
    assert found is not None and found.code == "KH-9"
    assert (found.name, found.khmer_name) == ("Koh Kong", "កោះកុង")


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Kompong Cham", "KH-3"),
        ("Kampong Chaam", "KH-3"),
        ("Siemreap", "KH-17"),
        ("Siem Reab", "KH-17"),
        ("Preas Vihear", "KH-13"),
        ("Sihanoukville", "KH-18"),
        ("កណ្តាល", "KH-8"),
        ("កណ្ដាល", "KH-8"),
        ("Battambang", "KH-2"),
        ("Cambodia", "KH"),
        ("កម្ពុជា", "KH"),
        ("Bangkok", "TH-10"),
        ("Songkhla", "TH-90"),
        ("Kuala Lumpur", "MY-14"),
        ("Guangdong", "CN-GD"),
        ("TH", "TH"),
    ],
)
def test_common_spellings_and_neighbours_resolve(written: str, code: str) -> None:
    found = find_place(written)
    assert found is not None and found.code == code


@pytest.mark.parametrize("written", ["Atlantis", "", "KH-99", "Koh", "Kong Koh Kong"])
def test_what_is_no_place_is_not_guessed(written: str) -> None:
    assert find_place(written) is None


def test_every_province_of_cambodia_has_a_khmer_name_and_an_iso_code() -> None:
    iso = {s.code for s in pycountry.subdivisions.get(country_code="KH")}
    assert set(CAMBODIAN_PROVINCES) == iso
    assert len(iso) == 25
    for code, (english, khmer, _) in CAMBODIAN_PROVINCES.items():
        assert all("\u1780" <= ch <= "\u17ff" for ch in khmer), code
        assert find_place(english) == find_place(khmer) == find_place(code)


def test_names_of_different_provinces_stay_different() -> None:
    forms = [normalise(n) for n, _, _ in CAMBODIAN_PROVINCES.values()]
    forms += [normalise(k) for _, k, _ in CAMBODIAN_PROVINCES.values()]
    assert len(set(forms)) == len(forms) == 50


def test_a_country_covers_its_provinces_after_the_province_itself() -> None:
    koh_kong, cambodia = find_place("KH-9"), find_place("KH")
    assert koh_kong is not None and cambodia is not None
    assert coverage("KH-9", koh_kong) == EXACT
    assert coverage("KH", koh_kong) == WHOLE_COUNTRY
    assert coverage("TH", koh_kong) is None
    assert coverage("KH-12", koh_kong) is None
    assert coverage("KH-12", cambodia) == PART_OF_COUNTRY
    assert coverage("Koh Kong", koh_kong) is None  # a name kept from before codes
