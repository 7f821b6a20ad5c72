"""What an assessment records, what each part is about, and when a child may travel home.
Pure: no I/O, no ORM, no GraphQL.

The initial assessment at a transit centre or shelter records the survivor's needs, the
risks she faces, and whether she is identified as a victim of trafficking under the national
guidelines (Cambodia's identification procedure decides IDENTIFIED or NOT_IDENTIFIED, and
PENDING while it is under way). Who decided is recorded as the organisation and the
assessor's role: a caseworker's name next to a survivor's record would identify both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from cases.rules import AgeBand
from store.errors import ErrorCode, HubError


class IdentificationDecision(StrEnum):
    IDENTIFIED = "IDENTIFIED"
    NOT_IDENTIFIED = "NOT_IDENTIFIED"
    PENDING = "PENDING"


class AssessorRole(StrEnum):
    SOCIAL_WORKER = "SOCIAL_WORKER"
    CASE_MANAGER = "CASE_MANAGER"
    PSYCHOLOGIST = "PSYCHOLOGIST"
    MEDICAL_STAFF = "MEDICAL_STAFF"
    POLICE_OFFICER = "POLICE_OFFICER"
    LABOUR_INSPECTOR = "LABOUR_INSPECTOR"
    CONSULAR_OFFICER = "CONSULAR_OFFICER"
    OTHER = "OTHER"


class RiskFactor(StrEnum):
    RE_TRAFFICKING = "RE_TRAFFICKING"
    THREATS_FROM_TRAFFICKERS = "THREATS_FROM_TRAFFICKERS"
    DEBT_BONDAGE = "DEBT_BONDAGE"
    FAMILY_INVOLVED_IN_TRAFFICKING = "FAMILY_INVOLVED_IN_TRAFFICKING"
    VIOLENCE_AT_HOME = "VIOLENCE_AT_HOME"
    SELF_HARM = "SELF_HARM"
    STIGMA = "STIGMA"
    OTHER = "OTHER"


MAX_NOTE = 2_000
MAX_ITEMS = 20
ADULT_AGE = 18
CHILD_BANDS = frozenset({AgeBand.AGE_0_8, AgeBand.AGE_9_17})


def _bad(message: str) -> HubError:
    # Name the field, never echo the value: it may be survivor data.
    return HubError(ErrorCode.BAD_USER_INPUT, message)


def check_note(name: str, note: str | None, *, required: bool = False) -> str | None:
    cleaned = (note or "").strip()
    if required and not cleaned:
        raise _bad(f"{name}: required")
    if len(cleaned) > MAX_NOTE:
        raise _bad(f"{name}: longer than {MAX_NOTE} characters")
    return cleaned or None


def check_items(name: str, items: Sequence[StrEnum]) -> list[str]:
    if len(items) > MAX_ITEMS:
        raise _bad(f"{name}: at most {MAX_ITEMS}")
    return sorted({i.value for i in items})


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def is_child(age_band: str, date_of_birth: Any, estimated_age: Any, today: date) -> bool:
    """Under 18 by any of what the case records: its age band, or (sealed) her date of
    birth or estimated age. Any one saying so is enough: a child's return is the one that
    needs the family assessment, and a doubt must not let it skip that."""
    if age_band in CHILD_BANDS:
        return True
    if isinstance(date_of_birth, str):
        try:
            if age_on(date.fromisoformat(date_of_birth), today) < ADULT_AGE:
                return True
        except ValueError:
            pass
    return isinstance(estimated_age, int) and estimated_age < ADULT_AGE


def family_allows_return(family_traced: bool, safe_to_return: bool) -> bool:
    """A child goes home only to a family that was found and a home judged safe."""
    return family_traced and safe_to_return


def child_return_refused() -> HubError:
    return HubError(
        ErrorCode.INVALID_TRANSITION,
        "Cannot arrange travel: a child goes home only after the reception organisation "
        "records a family assessment with the family traced and the return safe",
        {"reason": "FAMILY_ASSESSMENT_REQUIRED"},
    )
