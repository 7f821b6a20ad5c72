"""Documents attached to a case, a repatriation request or a legal case. Pure: no I/O.

A passport scan, a nationality verification letter, a medical report: survivor data, each
released like a field of its data category. The category of a document decides that
category; the object it is attached to decides the purpose consent must name.
"""

from __future__ import annotations

from enum import StrEnum

import filetype

from consent.rules import DataCategory, Purpose
from store.errors import ErrorCode, HubError


class DocumentCategory(StrEnum):
    IDENTITY_PAPERS = "IDENTITY_PAPERS"
    NATIONALITY_VERIFICATION = "NATIONALITY_VERIFICATION"
    EVIDENCE = "EVIDENCE"
    MEDICAL = "MEDICAL"
    OTHER = "OTHER"


class SubjectType(StrEnum):
    CASE = "CASE"
    REPATRIATION_REQUEST = "REPATRIATION_REQUEST"
    LEGAL_CASE = "LEGAL_CASE"


# An unlabelled document ("OTHER") is released as narrowly as a health record, like an
# unlabelled free text (cases/free_text.py).
DATA_CATEGORY: dict[DocumentCategory, DataCategory] = {
    DocumentCategory.IDENTITY_PAPERS: DataCategory.IDENTITY,
    DocumentCategory.NATIONALITY_VERIFICATION: DataCategory.IDENTITY,
    DocumentCategory.EVIDENCE: DataCategory.LEGAL,
    DocumentCategory.MEDICAL: DataCategory.HEALTH,
    DocumentCategory.OTHER: DataCategory.HEALTH,
}

# The purpose a document serves is the one its object serves. A document on the case itself
# serves whatever the reader is a party to the case for.
PURPOSE: dict[SubjectType, Purpose | None] = {
    SubjectType.CASE: None,
    SubjectType.REPATRIATION_REQUEST: Purpose.REPATRIATION,
    SubjectType.LEGAL_CASE: Purpose.LEGAL_AID,
}

# What is accepted, by content: scans and photos of papers, and PDFs.
ACCEPTED_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def content_type(content: bytes) -> str:
    """The media type the content itself shows (its magic bytes), if it is one accepted.

    A name or a declared Content-Type is never trusted: a document is opened by other
    organisations' staff, so an executable labelled ``scan.pdf`` must not get in."""
    if not content:
        raise HubError(ErrorCode.BAD_USER_INPUT, "the file is empty")
    found = filetype.guess_mime(content)
    if found not in ACCEPTED_TYPES:
        raise HubError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "documents must be PDF, JPEG or PNG files (checked by their content)",
        )
    return str(found)
