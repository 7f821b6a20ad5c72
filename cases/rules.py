"""What a case holds and who may change it. Pure: no I/O, no ORM, no GraphQL.

Value lists follow the Human Trafficking Case Data Standard (HTCDS) where it has them:
age bands, gender, types of exploitation, the recruiter's relationship to the survivor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import pycountry

from consent.rules import DataCategory
from orgs.places import find_place
from store.errors import ErrorCode, HubError


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    IN_CARE = "IN_CARE"
    REFERRED = "REFERRED"
    AWAITING_REPATRIATION = "AWAITING_REPATRIATION"
    REPATRIATED = "REPATRIATED"
    REINTEGRATING = "REINTEGRATING"
    FOLLOW_UP = "FOLLOW_UP"
    CLOSED = "CLOSED"
    # Still abroad: an embassy has been asked to locate and assist her (intervention).
    ABROAD = "ABROAD"


class AgeBand(StrEnum):
    """HTCDS ``ageBroad``."""

    AGE_0_8 = "AGE_0_8"
    AGE_9_17 = "AGE_9_17"
    AGE_18_20 = "AGE_18_20"
    AGE_21_23 = "AGE_21_23"
    AGE_24_26 = "AGE_24_26"
    AGE_27_29 = "AGE_27_29"
    AGE_30_38 = "AGE_30_38"
    AGE_39_47 = "AGE_39_47"
    AGE_48_PLUS = "AGE_48_PLUS"
    UNKNOWN = "UNKNOWN"


class Sex(StrEnum):
    """HTCDS ``gender``."""

    FEMALE = "FEMALE"
    MALE = "MALE"
    TRANSGENDER_NONCONFORMING = "TRANSGENDER_NONCONFORMING"
    UNKNOWN = "UNKNOWN"


class ExploitationType(StrEnum):
    """HTCDS ``isForcedLabour``, ``isSexualExploit``, … as one list."""

    FORCED_LABOUR = "FORCED_LABOUR"
    SEXUAL_EXPLOITATION = "SEXUAL_EXPLOITATION"
    FORCED_MARRIAGE = "FORCED_MARRIAGE"
    FORCED_MILITARY = "FORCED_MILITARY"
    ORGAN_REMOVAL = "ORGAN_REMOVAL"
    SLAVERY_AND_PRACTICES = "SLAVERY_AND_PRACTICES"
    FORCED_CRIMINALITY = "FORCED_CRIMINALITY"
    OTHER = "OTHER"


class RecruiterRelationship(StrEnum):
    """HTCDS ``recruiterRelationship``."""

    INTIMATE_PARTNER = "INTIMATE_PARTNER"
    FRIEND = "FRIEND"
    FAMILY = "FAMILY"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class DocumentType(StrEnum):
    PASSPORT = "PASSPORT"
    NATIONAL_ID = "NATIONAL_ID"
    BIRTH_CERTIFICATE = "BIRTH_CERTIFICATE"
    FAMILY_BOOK = "FAMILY_BOOK"
    OTHER = "OTHER"


class FieldKind(StrEnum):
    TEXT = "TEXT"
    TEXT_LIST = "TEXT_LIST"
    DATE = "DATE"
    AGE = "AGE"
    COUNTRY = "COUNTRY"
    PLACE = "PLACE"
    DOCUMENTS = "DOCUMENTS"
    EXPLOITATION_TYPES = "EXPLOITATION_TYPES"
    RECRUITER = "RECRUITER"


@dataclass(frozen=True, slots=True)
class SensitiveField:
    name: str
    category: DataCategory
    kind: FieldKind


C = DataCategory
K = FieldKind

# Every piece of survivor data the hub holds, by the name GraphQL shows, with its category.
SENSITIVE_FIELDS: tuple[SensitiveField, ...] = (
    SensitiveField("fullName", C.IDENTITY, K.TEXT),
    SensitiveField("otherNames", C.IDENTITY, K.TEXT_LIST),
    SensitiveField("dateOfBirth", C.IDENTITY, K.DATE),
    SensitiveField("estimatedAge", C.IDENTITY, K.AGE),
    SensitiveField("identityDocuments", C.IDENTITY, K.DOCUMENTS),
    SensitiveField("phone", C.CONTACT, K.TEXT),
    SensitiveField("familyContact", C.CONTACT, K.TEXT),
    SensitiveField("currentLocation", C.LOCATION, K.TEXT),
    SensitiveField("homeProvince", C.LOCATION, K.PLACE),
    SensitiveField("homeCommune", C.LOCATION, K.TEXT),
    SensitiveField("healthNotes", C.HEALTH, K.TEXT),
    SensitiveField("legalNotes", C.LEGAL, K.TEXT),
    SensitiveField("exploitationTypes", C.TRAFFICKING_EXPERIENCE, K.EXPLOITATION_TYPES),
    SensitiveField("recruiterRelationship", C.TRAFFICKING_EXPERIENCE, K.RECRUITER),
    SensitiveField("recruitmentNotes", C.TRAFFICKING_EXPERIENCE, K.TEXT),
    SensitiveField("destinationCountry", C.TRAFFICKING_EXPERIENCE, K.COUNTRY),
    SensitiveField("exploitationStartDate", C.TRAFFICKING_EXPERIENCE, K.DATE),
    SensitiveField("exploitationEndDate", C.TRAFFICKING_EXPERIENCE, K.DATE),
)
FIELDS_BY_NAME = {f.name: f for f in SENSITIVE_FIELDS}

# Categories that identify or reach a person: also need the `pii:read` scope.
PII_CATEGORIES = frozenset({DataCategory.IDENTITY, DataCategory.CONTACT})

MAX_TEXT = 4_000
MAX_LIST = 20
MAX_NOTE = 2_000


def _bad(field: str, why: str) -> HubError:
    # Name the field, never echo the value: it may be survivor data.
    return HubError(ErrorCode.BAD_USER_INPUT, f"{field}: {why}")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(name, "must be non-empty text")
    if len(value) > MAX_TEXT:
        raise _bad(name, f"longer than {MAX_TEXT} characters")
    return value.strip()


def _country(name: str, value: Any) -> str:
    """A country by its ISO 3166-1 code or by a name we know ("Thailand", "ថៃ")."""
    found = find_place(str(value)) if isinstance(value, str) else None
    if found is None or not found.is_country:
        raise _bad(name, "must be an ISO 3166-1 alpha-2 country code or a country's name")
    return found.code


# Never echo the value in the message: where she comes from is survivor data.
UNKNOWN_PROVINCE = (
    "unknown place: use an ISO 3166-2 code such as KH-9 or a province's name "
    "in Khmer or Latin letters"
)


def _province(name: str, value: Any) -> str:
    """A province (an ISO 3166-2 subdivision) by code or by any spelling we know, as its code:
    "Koh Kong", "Kaoh Kong" and "កោះកុង" are all stored as ``KH-9``."""
    found = find_place(value) if isinstance(value, str) and len(value) <= MAX_TEXT else None
    if found is None or found.is_country:
        raise _bad(name, UNKNOWN_PROVINCE)
    return found.code


def _date(name: str, value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise _bad(name, "must be a date (YYYY-MM-DD)") from exc


def check_sensitive_value(name: str, value: Any) -> Any:
    """A clean, JSON-serialisable value for sensitive field ``name``."""
    spec = FIELDS_BY_NAME.get(name)
    if spec is None:
        raise _bad(name, "unknown field")
    kind = spec.kind
    if kind is FieldKind.TEXT:
        return _text(name, value)
    if kind is FieldKind.TEXT_LIST:
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise _bad(name, f"must be a list of at most {MAX_LIST} items")
        return [_text(name, item) for item in value]
    if kind is FieldKind.DATE:
        return _date(name, value)
    if kind is FieldKind.AGE:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 120:
            raise _bad(name, "must be an age from 0 to 120")
        return value
    if kind is FieldKind.COUNTRY:
        return _country(name, value)
    if kind is FieldKind.PLACE:
        return _province(name, value)
    if kind is FieldKind.DOCUMENTS:
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise _bad(name, f"must be a list of at most {MAX_LIST} documents")
        documents = []
        for item in value:
            if not isinstance(item, dict):
                raise _bad(name, "each document needs a type and a number")
            try:
                kind_of = DocumentType(str(item.get("type")))
            except ValueError as exc:
                raise _bad(name, "unknown document type") from exc
            documents.append({"type": kind_of.value, "number": _text(name, item.get("number"))})
        return documents
    if kind is FieldKind.EXPLOITATION_TYPES:
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise _bad(name, "must be a list of exploitation types")
        try:
            return sorted({ExploitationType(str(v)).value for v in value})
        except ValueError as exc:
            raise _bad(name, "unknown exploitation type") from exc
    try:
        return RecruiterRelationship(str(value)).value
    except ValueError as exc:
        raise _bad(name, "unknown recruiter relationship") from exc


def check_languages(values: list[str]) -> list[str]:
    """ISO 639 language codes (two or three letters), e.g. km, th, en."""
    cleaned = []
    for raw in values[:MAX_LIST]:
        code = raw.strip().lower()
        found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
        found = found or (pycountry.languages.get(alpha_3=code) if len(code) == 3 else None)
        if found is None:
            raise _bad("languages", "must be ISO 639 codes such as km, th, en")
        cleaned.append(code)
    return sorted(set(cleaned))


def check_needs(values: list[str]) -> list[str]:
    if len(values) > MAX_LIST:
        raise _bad("needs", f"at most {MAX_LIST}")
    return sorted({_text("needs", v)[:100] for v in values})


def check_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > MAX_NOTE:
        raise _bad("note", f"longer than {MAX_NOTE} characters")
    return note.strip()


def check_status_change(current: CaseStatus, target: CaseStatus) -> None:
    """The owner may move a case to any other status; a closed case is reopened only to OPEN."""
    if current == target:
        raise HubError(ErrorCode.INVALID_TRANSITION, f"the case is already {current.value}")
    if current is CaseStatus.CLOSED and target is not CaseStatus.OPEN:
        raise HubError(ErrorCode.INVALID_TRANSITION, "a closed case can only be reopened (OPEN)")
