"""The intervention lifecycle table, checked cell by cell against a table written out by
hand: every status, every action, every party. Anything not listed below is refused."""

from __future__ import annotations

import itertools

import pytest

from cases.intervention_rules import (
    INTERVENTION_WORKFLOW,
    InterventionAction,
    InterventionOutcome,
    InterventionStatus,
    action_for_update,
    outcome_of,
)
from cases.workflow import Role
from store.errors import ErrorCode, HubError

S = InterventionStatus
A = InterventionAction
R = Role
REQUESTER, EMBASSY = R.SENDER, R.RECEIVER

# (status, action, role) -> (target, needs a reason). Written by hand from issue 14 step 7:
# the embassy acknowledges, then finds the person (located), helps (assisted) or gets her
# out (rescued), or says it did not find her (with why); the requester or the embassy
# resumes a search that found nothing when new word comes (with what changed). Only the
# requester (the case owner) turns a found person into a repatriation request, and cancels
# (with a reason) before anything is found; either side closes once there is an outcome.
EXPECTED: dict[tuple[InterventionStatus, InterventionAction, Role], tuple[str, bool]] = {
    (S.SUBMITTED, A.ACKNOWLEDGE, EMBASSY): (S.ACKNOWLEDGED, False),
    (S.ACKNOWLEDGED, A.LOCATE, EMBASSY): (S.LOCATED, False),
    (S.ACKNOWLEDGED, A.ASSIST, EMBASSY): (S.ASSISTED, False),
    (S.LOCATED, A.ASSIST, EMBASSY): (S.ASSISTED, False),
    (S.ACKNOWLEDGED, A.RESCUE, EMBASSY): (S.RESCUED, False),
    (S.LOCATED, A.RESCUE, EMBASSY): (S.RESCUED, False),
    (S.ASSISTED, A.RESCUE, EMBASSY): (S.RESCUED, False),
    (S.ACKNOWLEDGED, A.REPORT_NOT_FOUND, EMBASSY): (S.NOT_FOUND, True),
    (S.NOT_FOUND, A.RESUME_SEARCH, EMBASSY): (S.ACKNOWLEDGED, True),
    (S.NOT_FOUND, A.RESUME_SEARCH, REQUESTER): (S.ACKNOWLEDGED, True),
    (S.LOCATED, A.REQUEST_REPATRIATION, REQUESTER): (S.REPATRIATION_REQUESTED, False),
    (S.ASSISTED, A.REQUEST_REPATRIATION, REQUESTER): (S.REPATRIATION_REQUESTED, False),
    (S.RESCUED, A.REQUEST_REPATRIATION, REQUESTER): (S.REPATRIATION_REQUESTED, False),
    (S.LOCATED, A.CLOSE, EMBASSY): (S.CLOSED, False),
    (S.LOCATED, A.CLOSE, REQUESTER): (S.CLOSED, False),
    (S.ASSISTED, A.CLOSE, EMBASSY): (S.CLOSED, False),
    (S.ASSISTED, A.CLOSE, REQUESTER): (S.CLOSED, False),
    (S.RESCUED, A.CLOSE, EMBASSY): (S.CLOSED, False),
    (S.RESCUED, A.CLOSE, REQUESTER): (S.CLOSED, False),
    (S.NOT_FOUND, A.CLOSE, EMBASSY): (S.CLOSED, False),
    (S.NOT_FOUND, A.CLOSE, REQUESTER): (S.CLOSED, False),
    (S.SUBMITTED, A.CANCEL, REQUESTER): (S.CANCELLED, True),
    (S.ACKNOWLEDGED, A.CANCEL, REQUESTER): (S.CANCELLED, True),
}

FINAL = {S.REPATRIATION_REQUESTED, S.CLOSED, S.CANCELLED}
ALL_CELLS = list(itertools.product(S, A, R))
REFUSED = [cell for cell in ALL_CELLS if cell not in EXPECTED]


def _id(cell: tuple[InterventionStatus, InterventionAction, Role]) -> str:
    return "-".join(part.value for part in cell)


def test_the_hand_written_table_covers_every_status_action_and_party() -> None:
    assert len(list(S)) == 9 and len(list(A)) == 9 and len(list(R)) == 4
    assert len(ALL_CELLS) == 324
    assert len(EXPECTED) == 23 and len(REFUSED) == 301
    assert INTERVENTION_WORKFLOW.final == FINAL
    assert sorted(INTERVENTION_WORKFLOW.actions) == sorted(a.value for a in A)


@pytest.mark.parametrize(("status", "action", "role"), list(EXPECTED), ids=map(_id, EXPECTED))
def test_an_allowed_step_leads_where_the_table_says(
    status: InterventionStatus, action: InterventionAction, role: Role
) -> None:
    target, needs_reason = EXPECTED[(status, action, role)]
    step = INTERVENTION_WORKFLOW.next_state(status, action, role)
    assert step.target == target
    assert step.needs_reason is needs_reason
    assert INTERVENTION_WORKFLOW.allows(status, action, role) is True


@pytest.mark.parametrize(("status", "action", "role"), REFUSED, ids=map(_id, REFUSED))
def test_every_other_step_is_an_invalid_transition(
    status: InterventionStatus, action: InterventionAction, role: Role
) -> None:
    with pytest.raises(HubError) as refused:
        INTERVENTION_WORKFLOW.next_state(status, action, role)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    assert INTERVENTION_WORKFLOW.allows(status, action, role) is False


def test_the_hub_itself_never_moves_an_intervention_request() -> None:
    assert not any(INTERVENTION_WORKFLOW.allows(s, a, R.SYSTEM) for s, a in itertools.product(S, A))


def test_only_the_embassy_records_what_it_found() -> None:
    found = {A.LOCATE, A.ASSIST, A.RESCUE, A.REPORT_NOT_FOUND}
    for status, action, role in itertools.product(S, found, (REQUESTER, R.RECEPTION)):
        assert not INTERVENTION_WORKFLOW.allows(status, action, role)


def test_only_a_found_person_leads_into_a_repatriation_request() -> None:
    allowed = {s for s in S if INTERVENTION_WORKFLOW.allows(s, A.REQUEST_REPATRIATION, REQUESTER)}
    assert allowed == {S.LOCATED, S.ASSISTED, S.RESCUED}
    assert {outcome_of(s) for s in allowed} == {
        InterventionOutcome.LOCATED,
        InterventionOutcome.ASSISTED,
        InterventionOutcome.RESCUED,
    }


def test_the_outcomes_are_the_issues_words_and_only_outcome_states_have_one() -> None:
    assert [o.value for o in InterventionOutcome] == ["LOCATED", "ASSISTED", "RESCUED", "NOT_FOUND"]
    assert outcome_of(S.NOT_FOUND) is InterventionOutcome.NOT_FOUND
    for status in (S.SUBMITTED, S.ACKNOWLEDGED, S.CLOSED, S.CANCELLED, S.REPATRIATION_REQUESTED):
        assert outcome_of(status) is None


UPDATE_MEANS: dict[InterventionStatus, str] = {
    S.ACKNOWLEDGED: A.ACKNOWLEDGE,
    S.LOCATED: A.LOCATE,
    S.ASSISTED: A.ASSIST,
    S.RESCUED: A.RESCUE,
    S.NOT_FOUND: A.REPORT_NOT_FOUND,
    S.CLOSED: A.CLOSE,
    S.CANCELLED: A.CANCEL,
    S.SUBMITTED: "SET_SUBMITTED",
    S.REPATRIATION_REQUESTED: "SET_REPATRIATION_REQUESTED",
}


@pytest.mark.parametrize("target", list(S), ids=[s.value for s in S])
def test_an_update_to_a_status_means_the_step_that_leads_there(
    target: InterventionStatus,
) -> None:
    assert action_for_update(S.ACKNOWLEDGED, target) == UPDATE_MEANS[target]


def test_back_to_acknowledged_from_not_found_resumes_the_search() -> None:
    assert action_for_update(S.NOT_FOUND, S.ACKNOWLEDGED) == A.RESUME_SEARCH
    assert action_for_update(S.SUBMITTED, S.ACKNOWLEDGED) == A.ACKNOWLEDGE


def test_repatriation_requested_is_not_reachable_by_an_update() -> None:
    action = action_for_update(S.RESCUED, S.REPATRIATION_REQUESTED)
    with pytest.raises(HubError) as refused:
        INTERVENTION_WORKFLOW.next_state(S.RESCUED, action, REQUESTER)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
