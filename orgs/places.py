"""Places as ISO 3166 codes: find one by code or by any name people write, and say how well
a service's areas cover it.

Pure: no I/O. The index is built once, lazily, from pycountry and ``orgs.place_names``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Final

import pycountry

from orgs.place_names import (
    CAMBODIAN_PROVINCES,
    KHMER_COUNTRY_NAMES,
    NAMED_COUNTRIES,
    OTHER_SPELLINGS,
)

# Zero-width characters Khmer keyboards leave between words (ZWSP, ZWNJ, ZWJ, BOM).
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Words around a place name that do not tell places apart.
_FILLER: Final = re.compile(
    r"\b(province|provinces|khet|khaet|krong|municipality|city of|capital)\b"
)
# Romanisation variants of one Khmer word, replaced by one spelling (whole syllables only).
_VARIANTS: Final = (
    (re.compile(r"\bkaoh\b"), "koh"),
    (re.compile(r"\bkompong\b"), "kampong"),
    (re.compile(r"\bkampung\b"), "kampong"),
    (re.compile(r"\bpreas\b"), "preah"),
    (re.compile(r"\bprah\b"), "preah"),
)
# Chinese level words after a province name ("Guangdong Sheng"): people write the name alone.
_CHINESE_LEVEL: Final = re.compile(r" (Sheng|Shi|Zizhiqu|SAR)$")
# Khmer words for "province" and "capital" written before a name.
_KHMER_FILLER: Final = ("ខេត្ត", "រាជធានី", "ក្រុង")


def normalise(text: str) -> str:
    """One comparable form of a place name: case, spaces, hyphens, diacritics, zero-width
    characters and common romanisation variants no longer matter."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    for word in _KHMER_FILLER:
        text = text.replace(word, " ")
    decomposed = unicodedata.normalize("NFD", text.casefold())
    # Drop Latin combining marks only: Khmer vowel signs are combining marks too.
    latin = "".join(
        ch for ch in decomposed if not (unicodedata.combining(ch) and "\u0300" <= ch <= "\u036f")
    )
    words = re.sub(r"[\s\-_'\u2019.,()]+", " ", unicodedata.normalize("NFC", latin)).strip()
    words = _FILLER.sub(" ", words)
    for pattern, spelling in _VARIANTS:
        words = pattern.sub(spelling, words)
    return "".join(words.split())


@dataclass(frozen=True, slots=True)
class Place:
    """A country (``KH``) or one of its subdivisions (``KH-9``)."""

    code: str
    name: str
    khmer_name: str | None

    @property
    def country(self) -> str:
        return self.code[:2]

    @property
    def is_country(self) -> bool:
        return len(self.code) == 2


@cache
def _places() -> tuple[dict[str, Place], dict[str, str]]:
    """Places by code, and codes by normalised name (first writer wins on a clash)."""
    by_code: dict[str, Place] = {}
    by_name: dict[str, str] = {}

    def name(code: str, *names: str) -> None:
        for written in names:
            by_name.setdefault(normalise(written), code)

    for code, (english, khmer, others) in CAMBODIAN_PROVINCES.items():
        by_code[code] = Place(code, english, khmer)
        name(code, english, khmer, *others)
    for country in pycountry.countries:
        code = country.alpha_2
        by_code[code] = Place(code, country.name, KHMER_COUNTRY_NAMES.get(code))
    for code in NAMED_COUNTRIES:
        named = pycountry.countries.get(alpha_2=code)
        assert named is not None
        name(code, named.name, getattr(named, "common_name", named.name))
        name(code, *([KHMER_COUNTRY_NAMES[code]] if code in KHMER_COUNTRY_NAMES else []))
    for sub in pycountry.subdivisions:
        if sub.code in by_code:
            name(sub.code, sub.name)  # pycountry's romanisation, e.g. "Kaoh Kong"
            continue
        by_code[sub.code] = Place(sub.code, sub.name, None)
        if sub.country_code in NAMED_COUNTRIES:
            name(sub.code, sub.name, _CHINESE_LEVEL.sub("", sub.name))
    for code, others in OTHER_SPELLINGS.items():
        name(code, *others)
    return by_code, by_name


def find_place(text: str) -> Place | None:
    """The place written as a code (``KH-9``, ``kh``) or a name in any spelling we know."""
    by_code, by_name = _places()
    code = text.strip().upper()
    if code in by_code:
        return by_code[code]
    found = by_name.get(normalise(text))
    return by_code[found] if found is not None else None


def place(code: str) -> Place | None:
    """The place with exactly this ISO code, or None (a name kept from before codes)."""
    return _places()[0].get(code)


# How well one served area covers a wanted place: lower is a closer match.
EXACT, WHOLE_COUNTRY, PART_OF_COUNTRY = 0, 1, 2


def coverage(served: str, wanted: Place) -> int | None:
    """How ``served`` (an ISO code) covers ``wanted``: the place itself; the whole country
    the wanted province is in; a province of the wanted country (serves part of it); or
    not at all. A name kept from before codes covers nothing."""
    if served == wanted.code:
        return EXACT
    if len(served) == 2 and not wanted.is_country and served == wanted.country:
        return WHOLE_COUNTRY
    if wanted.is_country and len(served) > 2 and served[:2] == wanted.code:
        return PART_OF_COUNTRY
    return None


def best_coverage(areas: list[str], wanted: Place) -> int | None:
    """The closest coverage of ``wanted`` by any of ``areas``."""
    ranks = [r for r in (coverage(a, wanted) for a in areas) if r is not None]
    return min(ranks, default=None)
