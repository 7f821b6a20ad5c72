"""One case as a row of an HTCDS-shaped export (IOM's Human Trafficking Case Data Standard,
as used by the Counter Trafficking Data Collaborative), for the national database. Pure.

The mapping is ours, onto the standard's public field names. A row carries no name, no
contact, no place below country and no free text: a pseudonym (stable for one recipient,
different for another, see ``pseudonym``), the year, gender, age band, majority status,
citizenship, the exploitation types as yes/no flags, the country of exploitation and the
recruiter's relationship as flags. Unknown values are empty fields, never guesses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cases.rules import AgeBand, ExploitationType, RecruiterRelationship, Sex

DATA_SOURCE = "Case Management"

HTCDS_COLUMNS: tuple[str, ...] = (
    "caseId",
    "Datasource",
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "citizenship",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "isForcedMarriage",
    "isForcedMilitary",
    "isOrganRemoval",
    "isSlaveryAndPractices",
    "CountryOfExploitation",
    "recruiterRelationIntimatePartner",
    "recruiterRelationFriend",
    "recruiterRelationFamily",
    "recruiterRelationOther",
    "recruiterRelationUnknown",
)

_GENDER = {
    Sex.FEMALE.value: "Female",
    Sex.MALE.value: "Male",
    Sex.TRANSGENDER_NONCONFORMING.value: "Transgender/NonConforming",
}
_AGE = {
    AgeBand.AGE_0_8.value: "0--8",
    AgeBand.AGE_9_17.value: "9--17",
    AgeBand.AGE_18_20.value: "18--20",
    AgeBand.AGE_21_23.value: "21--23",
    AgeBand.AGE_24_26.value: "24--26",
    AgeBand.AGE_27_29.value: "27--29",
    AgeBand.AGE_30_38.value: "30--38",
    AgeBand.AGE_39_47.value: "39--47",
    AgeBand.AGE_48_PLUS.value: "48+",
}
_MINORS = {AgeBand.AGE_0_8.value, AgeBand.AGE_9_17.value}
_EXPLOIT_FLAGS: dict[str, tuple[str, ...]] = {
    "isForcedLabour": (ExploitationType.FORCED_LABOUR.value,),
    "isSexualExploit": (ExploitationType.SEXUAL_EXPLOITATION.value,),
    "isOtherExploit": (ExploitationType.FORCED_CRIMINALITY.value, ExploitationType.OTHER.value),
    "isForcedMarriage": (ExploitationType.FORCED_MARRIAGE.value,),
    "isForcedMilitary": (ExploitationType.FORCED_MILITARY.value,),
    "isOrganRemoval": (ExploitationType.ORGAN_REMOVAL.value,),
    "isSlaveryAndPractices": (ExploitationType.SLAVERY_AND_PRACTICES.value,),
}
_RECRUITER_FLAGS = {
    "recruiterRelationIntimatePartner": RecruiterRelationship.INTIMATE_PARTNER.value,
    "recruiterRelationFriend": RecruiterRelationship.FRIEND.value,
    "recruiterRelationFamily": RecruiterRelationship.FAMILY.value,
    "recruiterRelationOther": RecruiterRelationship.OTHER.value,
    "recruiterRelationUnknown": RecruiterRelationship.UNKNOWN.value,
}


@dataclass(frozen=True, slots=True)
class ExportedCase:
    """What the export reads of one case: plain columns and the opened sealed values."""

    case_id: str
    created_at: datetime
    sex: str
    age_band: str
    nationality: str | None
    sealed: Mapping[str, object]


def pseudonym(key: bytes, recipient_organization_id: str, case_id: str) -> str:
    """The same case gets the same pseudonym in every export to one recipient, and an
    unrelated one for another: two recipients cannot join their exports on it, and without
    the hub's key nobody can go back to the case."""
    message = f"htcds\x1f{recipient_organization_id}\x1f{case_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _flag(known: bool, value: bool) -> str:
    return ("1" if value else "0") if known else ""


def htcds_row(case: ExportedCase, case_pseudonym: str) -> dict[str, str]:
    """The row for ``case``, with exactly the ``HTCDS_COLUMNS``."""
    types = case.sealed.get("exploitationTypes")
    types_known = isinstance(types, list) and bool(types)
    chosen = {str(t) for t in types} if isinstance(types, list) else set()
    recruiter = case.sealed.get("recruiterRelationship")
    destination = case.sealed.get("destinationCountry")
    row = {
        "caseId": case_pseudonym,
        "Datasource": DATA_SOURCE,
        "yearOfRegistration": str(case.created_at.year),
        "gender": _GENDER.get(case.sex, ""),
        "ageBroad": _AGE.get(case.age_band, ""),
        "majorityStatus": (
            "" if case.age_band not in _AGE else "Minor" if case.age_band in _MINORS else "Adult"
        ),
        "citizenship": case.nationality or "",
        "CountryOfExploitation": destination if isinstance(destination, str) else "",
    }
    for column, members in _EXPLOIT_FLAGS.items():
        row[column] = _flag(types_known, bool(chosen.intersection(members)))
    for column, relation in _RECRUITER_FLAGS.items():
        row[column] = _flag(isinstance(recruiter, str), recruiter == relation)
    return {column: row[column] for column in HTCDS_COLUMNS}
