"""The legal case lifecycle table, checked cell by cell against a table written out by hand:
every stage, every action, every party. Anything not listed below is refused. Also the
release rule of notes on a legal case that links several survivors."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from cases.justice_rules import (
    LEGAL_CASE_WORKFLOW,
    NO_CASES,
    LegalCaseAction,
    LegalCaseStatus,
    LinkedConsent,
    action_for_update,
    release_note,
)
from cases.workflow import Role
from consent.rules import DataCategory, DenyReason, Grant, Purpose, Recipient
from store.errors import ErrorCode, HubError

S = LegalCaseStatus
A = LegalCaseAction
R = Role
OPENER, LEGAL_AID, RECEPTION, HUB = R.SENDER, R.RECEIVER, R.RECEPTION, R.SYSTEM

# (status, action, role) -> (target, needs a reason). Written by hand from the issue and
# the domain notes (ADHOC "will investigate cases ... before taking the case to the relevant
# institutions", assists "during the prosecution and court hearing process to ensure they
# are able to access justice and compensation"): the legal aid organisation moves the case
# from complaint to investigation, to court, to judgment, to compensation awarded and paid,
# and closes it after the judgment or the payment. It, or the organisation that opened it,
# may end it early with a reason (complaint withdrawn, compensation never paid).
EXPECTED: dict[tuple[LegalCaseStatus, LegalCaseAction, Role], tuple[str, bool]] = {
    (S.COMPLAINT_FILED, A.START_INVESTIGATION, LEGAL_AID): (S.INVESTIGATION, False),
    (S.INVESTIGATION, A.REFER_TO_COURT, LEGAL_AID): (S.COURT, False),
    (S.COURT, A.RECORD_JUDGMENT, LEGAL_AID): (S.JUDGMENT, False),
    (S.JUDGMENT, A.AWARD_COMPENSATION, LEGAL_AID): (S.COMPENSATION_AWARDED, False),
    (S.COMPENSATION_AWARDED, A.PAY_COMPENSATION, LEGAL_AID): (S.COMPENSATION_PAID, False),
    (S.JUDGMENT, A.CLOSE, LEGAL_AID): (S.CLOSED, False),
    (S.COMPENSATION_PAID, A.CLOSE, LEGAL_AID): (S.CLOSED, False),
    (S.COMPLAINT_FILED, A.DISCONTINUE, LEGAL_AID): (S.CLOSED, True),
    (S.COMPLAINT_FILED, A.DISCONTINUE, OPENER): (S.CLOSED, True),
    (S.INVESTIGATION, A.DISCONTINUE, LEGAL_AID): (S.CLOSED, True),
    (S.INVESTIGATION, A.DISCONTINUE, OPENER): (S.CLOSED, True),
    (S.COURT, A.DISCONTINUE, LEGAL_AID): (S.CLOSED, True),
    (S.COURT, A.DISCONTINUE, OPENER): (S.CLOSED, True),
    (S.COMPENSATION_AWARDED, A.DISCONTINUE, LEGAL_AID): (S.CLOSED, True),
    (S.COMPENSATION_AWARDED, A.DISCONTINUE, OPENER): (S.CLOSED, True),
}

ALL_CELLS = list(itertools.product(S, A, R))
REFUSED = [cell for cell in ALL_CELLS if cell not in EXPECTED]


def _id(cell: tuple[LegalCaseStatus, LegalCaseAction, Role]) -> str:
    return "-".join(part.value for part in cell)


def test_the_hand_written_table_covers_every_stage_action_and_party() -> None:
    assert len(list(S)) == 7 and len(list(A)) == 7 and len(list(R)) == 4
    assert len(ALL_CELLS) == 196
    assert len(EXPECTED) == 15 and len(REFUSED) == 181
    assert LEGAL_CASE_WORKFLOW.final == {S.CLOSED}
    assert sorted(LEGAL_CASE_WORKFLOW.actions) == sorted(a.value for a in A)


@pytest.mark.parametrize(("status", "action", "role"), list(EXPECTED), ids=map(_id, EXPECTED))
def test_an_allowed_step_leads_where_the_table_says(
    status: LegalCaseStatus, action: LegalCaseAction, role: Role
) -> None:
    target, needs_reason = EXPECTED[(status, action, role)]
    step = LEGAL_CASE_WORKFLOW.next_state(status, action, role)
    assert step.target == target
    assert step.needs_reason is needs_reason
    assert LEGAL_CASE_WORKFLOW.allows(status, action, role) is True


@pytest.mark.parametrize(("status", "action", "role"), REFUSED, ids=map(_id, REFUSED))
def test_every_other_step_is_an_invalid_transition(
    status: LegalCaseStatus, action: LegalCaseAction, role: Role
) -> None:
    with pytest.raises(HubError) as refused:
        LEGAL_CASE_WORKFLOW.next_state(status, action, role)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    assert LEGAL_CASE_WORKFLOW.allows(status, action, role) is False


def test_a_refusal_names_the_stage_and_what_the_caller_may_do_now() -> None:
    with pytest.raises(HubError) as refused:
        LEGAL_CASE_WORKFLOW.next_state(S.COURT, A.RECORD_JUDGMENT, OPENER)
    assert "only the legal aid organisation" in refused.value.message
    assert refused.value.extensions["allowedActions"] == [A.DISCONTINUE]


# updateLegalCase(status: …) names the stage to reach; the action it means, by hand.
UPDATE_MEANS: dict[tuple[LegalCaseStatus, LegalCaseStatus], str] = {
    (S.COMPLAINT_FILED, S.INVESTIGATION): A.START_INVESTIGATION,
    (S.INVESTIGATION, S.COURT): A.REFER_TO_COURT,
    (S.COURT, S.CLOSED): A.DISCONTINUE,
    (S.COMPLAINT_FILED, S.CLOSED): A.DISCONTINUE,
    (S.COMPENSATION_AWARDED, S.CLOSED): A.DISCONTINUE,
    (S.JUDGMENT, S.CLOSED): A.CLOSE,
    (S.COMPENSATION_PAID, S.CLOSED): A.CLOSE,
    (S.CLOSED, S.CLOSED): A.CLOSE,
    # the judgment and the compensation carry data: their own mutations
    (S.COURT, S.JUDGMENT): "SET_JUDGMENT",
    (S.JUDGMENT, S.COMPENSATION_AWARDED): "SET_COMPENSATION_AWARDED",
    (S.COMPENSATION_AWARDED, S.COMPENSATION_PAID): "SET_COMPENSATION_PAID",
    (S.INVESTIGATION, S.COMPLAINT_FILED): "SET_COMPLAINT_FILED",
}


@pytest.mark.parametrize(("current", "target"), list(UPDATE_MEANS))
def test_an_update_to_a_stage_means_the_step_that_leads_there(
    current: LegalCaseStatus, target: LegalCaseStatus
) -> None:
    assert action_for_update(current, target) == UPDATE_MEANS[(current, target)]


# ---------------------------------------------------------------- notes on a group case

AT = datetime(2027, 3, 1, tzinfo=UTC)
ADHOC = Recipient("org-adhoc", "LEGAL_AID")


def _grant(
    gid: str, *, withdrawn: bool = False, category: DataCategory = DataCategory.LEGAL
) -> Grant:
    return Grant(
        id=gid,
        version=1,
        purposes=frozenset({Purpose.LEGAL_AID}),
        categories=frozenset({category}),
        valid_from=AT - timedelta(days=1),
        recipient_organizations=frozenset({ADHOC.organization_id}),
        withdrawn_at=AT - timedelta(hours=1) if withdrawn else None,
    )


def test_a_note_reaches_a_reader_only_when_every_survivor_consents() -> None:
    both = [
        LinkedConsent("case-a", False, [_grant("g-a")]),
        LinkedConsent("case-b", False, [_grant("g-b")]),
    ]
    cited, reason = release_note(ADHOC, False, both, AT)
    assert reason is None
    assert [(case, d.grant_id) for case, d in cited] == [("case-a", "g-a"), ("case-b", "g-b")]

    one_withdrew = [both[0], LinkedConsent("case-b", False, [_grant("g-b", withdrawn=True)])]
    assert release_note(ADHOC, False, one_withdrew, AT) == ([], DenyReason.WITHDRAWN.value)

    wrong_category = [
        both[0],
        LinkedConsent("case-b", False, [_grant("g-b", category=DataCategory.HEALTH)]),
    ]
    assert release_note(ADHOC, False, wrong_category, AT) == (
        [],
        DenyReason.CATEGORY_NOT_COVERED.value,
    )


def test_owned_cases_need_no_consent_and_are_not_cited() -> None:
    linked = [LinkedConsent("case-a", True, []), LinkedConsent("case-b", False, [_grant("g-b")])]
    cited, reason = release_note(ADHOC, False, linked, AT)
    assert reason is None and [case for case, _ in cited] == ["case-b"]
    assert release_note(ADHOC, False, [LinkedConsent("case-a", True, [])], AT) == ([], None)


def test_the_writer_reads_its_own_note_and_nobody_reads_a_note_without_cases() -> None:
    assert release_note(ADHOC, True, [LinkedConsent("case-a", False, [])], AT) == ([], None)
    assert release_note(ADHOC, False, [], AT) == ([], NO_CASES)
