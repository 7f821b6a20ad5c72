"""The legal case lifecycle and who may read its notes. Pure: no I/O.

A legal case is a prosecution that a legal aid organisation follows for one or many
survivors (a fishing-fleet case links dozens). Its metadata (court, stage, hearing dates,
judgment, compensation) is the legal case's own and visible to its parties; a note written
about it may name any of the linked survivors, so it is released only where every
survivor's consent allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cases.workflow import Role, Transition, Workflow
from consent.rules import DataCategory, Decision, Grant, Purpose, Recipient, decide


class LegalCaseStatus(StrEnum):
    COMPLAINT_FILED = "COMPLAINT_FILED"
    INVESTIGATION = "INVESTIGATION"
    COURT = "COURT"
    JUDGMENT = "JUDGMENT"
    COMPENSATION_AWARDED = "COMPENSATION_AWARDED"
    COMPENSATION_PAID = "COMPENSATION_PAID"
    CLOSED = "CLOSED"


class LegalCaseAction(StrEnum):
    START_INVESTIGATION = "START_INVESTIGATION"
    REFER_TO_COURT = "REFER_TO_COURT"
    RECORD_JUDGMENT = "RECORD_JUDGMENT"
    AWARD_COMPENSATION = "AWARD_COMPENSATION"
    PAY_COMPENSATION = "PAY_COMPENSATION"
    CLOSE = "CLOSE"
    # Ending before its natural end (complaint withdrawn, compensation never paid): a reason.
    DISCONTINUE = "DISCONTINUE"


class Verdict(StrEnum):
    CONVICTED = "CONVICTED"
    ACQUITTED = "ACQUITTED"
    DISMISSED = "DISMISSED"


S = LegalCaseStatus
A = LegalCaseAction
# The legal aid organisation conducts the case; the organisation that opened it (a case
# owner such as a shelter) may only end it early.
LEGAL_AID = frozenset({Role.RECEIVER})
OPENER_OR_LEGAL_AID = frozenset({Role.RECEIVER, Role.SENDER})
UNDER_WAY = frozenset({S.COMPLAINT_FILED, S.INVESTIGATION, S.COURT, S.COMPENSATION_AWARDED})

LEGAL_CASE_WORKFLOW = Workflow(
    "legal case",
    [
        Transition(
            A.START_INVESTIGATION, LEGAL_AID, frozenset({S.COMPLAINT_FILED}), S.INVESTIGATION
        ),
        Transition(A.REFER_TO_COURT, LEGAL_AID, frozenset({S.INVESTIGATION}), S.COURT),
        Transition(A.RECORD_JUDGMENT, LEGAL_AID, frozenset({S.COURT}), S.JUDGMENT),
        Transition(
            A.AWARD_COMPENSATION, LEGAL_AID, frozenset({S.JUDGMENT}), S.COMPENSATION_AWARDED
        ),
        Transition(
            A.PAY_COMPENSATION, LEGAL_AID, frozenset({S.COMPENSATION_AWARDED}), S.COMPENSATION_PAID
        ),
        Transition(A.CLOSE, LEGAL_AID, frozenset({S.JUDGMENT, S.COMPENSATION_PAID}), S.CLOSED),
        Transition(A.DISCONTINUE, OPENER_OR_LEGAL_AID, UNDER_WAY, S.CLOSED, True),
    ],
    final={S.CLOSED},
    states={
        S.COMPLAINT_FILED: "has its complaint filed and no investigation yet",
        S.INVESTIGATION: "is under investigation",
        S.COURT: "is before the court",
        S.JUDGMENT: "has its judgment recorded",
        S.COMPENSATION_AWARDED: "has compensation awarded and not yet paid",
        S.COMPENSATION_PAID: "has its compensation paid",
        S.CLOSED: "has already been closed",
    },
    role_names={
        Role.RECEIVER: "legal aid organisation",
        Role.SENDER: "organisation that opened it",
    },
)

# `updateLegalCase(status: …)` names the stage to reach; the judgment and the compensation
# carry data of their own and have their own mutations.
ACTION_FOR_STATUS: dict[LegalCaseStatus, LegalCaseAction] = {
    S.INVESTIGATION: A.START_INVESTIGATION,
    S.COURT: A.REFER_TO_COURT,
    S.CLOSED: A.CLOSE,
}


def action_for_update(current: str, target: LegalCaseStatus) -> str:
    """The action ``updateLegalCase`` means: CLOSED from a stage still under way is
    discontinuing (a reason is required); a stage without an action of its own here is
    refused as unknown (the judgment and compensation mutations reach those)."""
    if target == S.CLOSED and current in UNDER_WAY:
        return A.DISCONTINUE
    return ACTION_FOR_STATUS.get(target, "SET_" + target.value)


# Notes on a legal case (hearing outcomes, reasons for ending it) speak of its proceedings.
NOTE_CATEGORY = DataCategory.LEGAL
NOTE_PURPOSE = Purpose.LEGAL_AID
NO_CASES = "NO_LINKED_CASE"
# A note only its writer reads (why a survivor was unlinked: cases/justice_unlink.py).
WRITER_ONLY = "WRITER_ONLY"


@dataclass(frozen=True, slots=True)
class LinkedConsent:
    """One linked survivor case as a note's reader stands to it."""

    case_id: str
    viewer_owns: bool
    grants: Sequence[Grant]


def release_note(
    viewer: Recipient, wrote_it: bool, linked: Sequence[LinkedConsent], at: datetime
) -> tuple[list[tuple[str, Decision]], str | None]:
    """May ``viewer`` read a note on a legal case linking ``linked``?

    The writer always may. Anyone else needs, for every linked case, to own it or to have
    the survivor's consent for LEGAL data for LEGAL_AID: the note may name any of them.
    Returns the decisions to cite per foreign case (for the disclosure log) and None, or
    no decisions and the reason for withholding."""
    if wrote_it:
        return [], None
    if not linked:
        return [], NO_CASES
    cited: list[tuple[str, Decision]] = []
    for link in linked:
        if link.viewer_owns:
            continue
        decision = decide(link.grants, viewer, NOTE_PURPOSE, NOTE_CATEGORY, at)
        if not decision.allowed:
            assert decision.reason is not None
            return [], decision.reason.value
        cited.append((link.case_id, decision))
    return cited, None
