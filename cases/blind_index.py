"""The blind index: keyed hashes that say "the same person may already be known" without
the hub keeping anything that can be read back or guessed without the key.

Pure: no I/O. One digest per written name (full name and each other name) of a person's
normalised name, date of birth and sex, under a subkey of each data key in the ring.
Normalising makes the spellings of one name meet: case, spacing, the order of name parts,
Latin diacritics and the romanisation variants listed below; Khmer script is put in NFC and
cleared of zero-width characters. Khmer and Latin spellings of one name are not converted
into each other: a case that records both (``fullName`` and ``otherNames``) matches either.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

# The purpose the subkeys are derived for (store.sealed.FieldCipher.derive).
PURPOSE: Final = "blind-index/person/v1"

_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# Romanisations of one Khmer sound, one spelling kept (applied within each name part).
_VARIANTS: Final = (
    (re.compile(r"(.)\1+"), r"\1"),  # Chann / Chan, Sokkha / Sokha
    (re.compile(r"ey"), "ei"),  # Srey / Srei
    (re.compile(r"ou"), "u"),  # Chhoun / Chhun
    (re.compile(r"(?<=[aeiou])h$"), ""),  # Sokhah / Sokha
    (re.compile(r"^kh"), "k"),  # Khim / Kim
)


def _part(part: str) -> str:
    if not part.isascii():
        return part
    for pattern, spelling in _VARIANTS:
        part = pattern.sub(spelling, part)
    return part


def normalise_name(name: str) -> str:
    """One form of a written name: the spellings of one name meet, other names stay apart."""
    text = unicodedata.normalize("NFC", name).translate(_INVISIBLE).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    latin = "".join(
        ch for ch in decomposed if not (unicodedata.combining(ch) and "\u0300" <= ch <= "\u036f")
    )
    # Punctuation separates parts; letters, digits and marks (Khmer vowel signs and the
    # subscript sign are marks) are the name.
    cleaned = "".join(
        ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else " "
        for ch in unicodedata.normalize("NFC", latin)
    )
    return " ".join(sorted(_part(p) for p in cleaned.split()))


def digest(key: bytes, name: str, date_of_birth: str, sex: str) -> str:
    """The keyed hash of one person description (hex)."""
    message = "\x1f".join((normalise_name(name), date_of_birth, sex)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def names_of(survivor: Mapping[str, Any]) -> list[str]:
    """The names written for a survivor (full name, then other names), without blanks."""
    names: list[str] = []
    full = survivor.get("fullName")
    if isinstance(full, str):
        names.append(full)
    others = survivor.get("otherNames")
    if isinstance(others, list):
        names.extend(n for n in others if isinstance(n, str))
    return [n for n in names if normalise_name(n)]


def birth_date(survivor: Mapping[str, Any]) -> str | None:
    value = survivor.get("dateOfBirth")
    if isinstance(value, date):
        return value.isoformat()
    return value[:10] if isinstance(value, str) and value else None


def entries(
    keys: Mapping[str, bytes], survivor: Mapping[str, Any], sex: str
) -> list[tuple[str, str]]:
    """(key id, digest) for every key and written name; none without a name and a date of
    birth (an age band alone would flag strangers)."""
    born = birth_date(survivor)
    if born is None:
        return []
    names = names_of(survivor)
    found = {(kid, digest(key, n, born, sex)) for kid, key in keys.items() for n in names}
    return sorted(found)


def by_key(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Digests grouped by key id, for one lookup per key."""
    out: dict[str, list[str]] = {}
    for kid, value in pairs:
        out.setdefault(kid, []).append(value)
    return out
