"""The repatriation lifecycle table, checked cell by cell against a table written out by
hand: every status, every action, every party. Anything not listed below is refused."""

from __future__ import annotations

import itertools

import pytest

from cases.repatriation_rules import (
    HELD_FROM,
    REPATRIATION_WORKFLOW,
    RepatriationAction,
    RepatriationStatus,
    action_for_update,
)
from cases.workflow import Role
from store.errors import ErrorCode, HubError

S = RepatriationStatus
A = RepatriationAction
R = Role
REQUESTER, EMBASSY, RECEPTION, HUB = R.SENDER, R.RECEIVER, R.RECEPTION, R.SYSTEM

# (status, action, role) -> (target, needs a reason). Written by hand from the issue
# ("Repatriation requests that embassies acknowledge"): the embassy acknowledges, verifies
# nationality, issues documents, arranges travel and returns the survivor; the reception
# organisation at home confirms the hand-over; either the embassy or the requester closes
# it afterwards. The embassy rejects (with a reason) until documents are issued; the
# requester cancels (with a reason) anything still under way; either of them puts an active
# request on hold (with a reason) and takes it back to where it was. The hub moves it only
# for consent (issue 9): on hold when consent stops covering it, back when it covers again.
EXPECTED: dict[tuple[RepatriationStatus, RepatriationAction, Role], tuple[str, bool]] = {
    (S.SUBMITTED, A.ACKNOWLEDGE, EMBASSY): (S.ACKNOWLEDGED, False),
    (S.ACKNOWLEDGED, A.VERIFY, EMBASSY): (S.VERIFYING, False),
    (S.VERIFYING, A.ISSUE_DOCUMENTS, EMBASSY): (S.DOCUMENTS_ISSUED, False),
    (S.DOCUMENTS_ISSUED, A.ARRANGE_TRAVEL, EMBASSY): (S.TRAVEL_ARRANGED, False),
    (S.TRAVEL_ARRANGED, A.RETURN, EMBASSY): (S.RETURNED, False),
    (S.RETURNED, A.CONFIRM_HANDOVER, RECEPTION): (S.HANDED_OVER, False),
    (S.HANDED_OVER, A.CLOSE, EMBASSY): (S.CLOSED, False),
    (S.HANDED_OVER, A.CLOSE, REQUESTER): (S.CLOSED, False),
    (S.SUBMITTED, A.REJECT, EMBASSY): (S.REJECTED, True),
    (S.ACKNOWLEDGED, A.REJECT, EMBASSY): (S.REJECTED, True),
    (S.VERIFYING, A.REJECT, EMBASSY): (S.REJECTED, True),
    (S.SUBMITTED, A.CANCEL, REQUESTER): (S.CANCELLED, True),
    (S.ACKNOWLEDGED, A.CANCEL, REQUESTER): (S.CANCELLED, True),
    (S.VERIFYING, A.CANCEL, REQUESTER): (S.CANCELLED, True),
    (S.DOCUMENTS_ISSUED, A.CANCEL, REQUESTER): (S.CANCELLED, True),
    (S.TRAVEL_ARRANGED, A.CANCEL, REQUESTER): (S.CANCELLED, True),
    (S.ON_HOLD, A.CANCEL, REQUESTER): (S.CANCELLED, True),
    (S.SUBMITTED, A.HOLD, EMBASSY): (S.ON_HOLD, True),
    (S.SUBMITTED, A.HOLD, REQUESTER): (S.ON_HOLD, True),
    (S.ACKNOWLEDGED, A.HOLD, EMBASSY): (S.ON_HOLD, True),
    (S.ACKNOWLEDGED, A.HOLD, REQUESTER): (S.ON_HOLD, True),
    (S.VERIFYING, A.HOLD, EMBASSY): (S.ON_HOLD, True),
    (S.VERIFYING, A.HOLD, REQUESTER): (S.ON_HOLD, True),
    (S.DOCUMENTS_ISSUED, A.HOLD, EMBASSY): (S.ON_HOLD, True),
    (S.DOCUMENTS_ISSUED, A.HOLD, REQUESTER): (S.ON_HOLD, True),
    (S.TRAVEL_ARRANGED, A.HOLD, EMBASSY): (S.ON_HOLD, True),
    (S.TRAVEL_ARRANGED, A.HOLD, REQUESTER): (S.ON_HOLD, True),
    # Back from hold goes to wherever the request was held from, resolved per request.
    (S.ON_HOLD, A.RESUME, EMBASSY): (HELD_FROM, False),
    (S.ON_HOLD, A.RESUME, REQUESTER): (HELD_FROM, False),
    # The hub's only moves: hold what the survivor's consent no longer covers (an active
    # request, or one a party already holds), and let it go back when consent covers it.
    (S.SUBMITTED, A.CONSENT_HOLD, HUB): (S.ON_HOLD, False),
    (S.ACKNOWLEDGED, A.CONSENT_HOLD, HUB): (S.ON_HOLD, False),
    (S.VERIFYING, A.CONSENT_HOLD, HUB): (S.ON_HOLD, False),
    (S.DOCUMENTS_ISSUED, A.CONSENT_HOLD, HUB): (S.ON_HOLD, False),
    (S.TRAVEL_ARRANGED, A.CONSENT_HOLD, HUB): (S.ON_HOLD, False),
    (S.ON_HOLD, A.CONSENT_HOLD, HUB): (S.ON_HOLD, False),
    (S.ON_HOLD, A.CONSENT_RESUME, HUB): (HELD_FROM, False),
}

FINAL = {S.CLOSED, S.REJECTED, S.CANCELLED}
ALL_CELLS = list(itertools.product(S, A, R))
REFUSED = [cell for cell in ALL_CELLS if cell not in EXPECTED]


def _id(cell: tuple[RepatriationStatus, RepatriationAction, Role]) -> str:
    return "-".join(part.value for part in cell)


def test_the_hand_written_table_covers_every_status_action_and_party() -> None:
    assert len(list(S)) == 11 and len(list(A)) == 13 and len(list(R)) == 4
    assert len(ALL_CELLS) == 572
    assert len(EXPECTED) == 36 and len(REFUSED) == 536
    assert REPATRIATION_WORKFLOW.final == FINAL
    assert sorted(REPATRIATION_WORKFLOW.actions) == sorted(a.value for a in A)


@pytest.mark.parametrize(("status", "action", "role"), list(EXPECTED), ids=map(_id, EXPECTED))
def test_an_allowed_step_leads_where_the_table_says(
    status: RepatriationStatus, action: RepatriationAction, role: Role
) -> None:
    target, needs_reason = EXPECTED[(status, action, role)]
    step = REPATRIATION_WORKFLOW.next_state(status, action, role)
    assert step.target == target
    assert step.needs_reason is needs_reason
    assert REPATRIATION_WORKFLOW.allows(status, action, role) is True


@pytest.mark.parametrize(("status", "action", "role"), REFUSED, ids=map(_id, REFUSED))
def test_every_other_step_is_an_invalid_transition(
    status: RepatriationStatus, action: RepatriationAction, role: Role
) -> None:
    with pytest.raises(HubError) as refused:
        REPATRIATION_WORKFLOW.next_state(status, action, role)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    assert REPATRIATION_WORKFLOW.allows(status, action, role) is False


@pytest.mark.parametrize("status", sorted(FINAL))
def test_a_closed_rejected_or_cancelled_request_allows_nothing_to_anyone(
    status: RepatriationStatus,
) -> None:
    for action, role in itertools.product(A, R):
        assert REPATRIATION_WORKFLOW.allows(status, action, role) is False
        with pytest.raises(HubError) as refused:
            REPATRIATION_WORKFLOW.next_state(status, action, role)
        assert refused.value.code is ErrorCode.INVALID_TRANSITION


def test_the_hub_itself_moves_a_repatriation_request_only_for_consent() -> None:
    consent = {A.CONSENT_HOLD, A.CONSENT_RESUME}
    assert {cell[1] for cell in EXPECTED if cell[2] is HUB} == consent
    assert not any(
        REPATRIATION_WORKFLOW.allows(s, a, HUB)
        for s, a in itertools.product(S, A)
        if a not in consent
    )
    for action, role in itertools.product(consent, (REQUESTER, EMBASSY, RECEPTION)):
        assert not any(REPATRIATION_WORKFLOW.allows(s, action, role) for s in S)


def test_only_the_reception_organisation_confirms_the_hand_over() -> None:
    for role in (REQUESTER, EMBASSY, HUB):
        with pytest.raises(HubError) as refused:
            REPATRIATION_WORKFLOW.next_state(S.RETURNED, A.CONFIRM_HANDOVER, role)
        assert refused.value.code is ErrorCode.INVALID_TRANSITION


def test_an_action_the_table_does_not_know_is_bad_input() -> None:
    with pytest.raises(HubError) as refused:
        REPATRIATION_WORKFLOW.next_state(S.SUBMITTED, "SET_SUBMITTED", EMBASSY)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


# updateRepatriation(status: …) names the state to reach; the action it means, by hand.
UPDATE_MEANS: dict[RepatriationStatus, str] = {
    S.ACKNOWLEDGED: A.ACKNOWLEDGE,
    S.VERIFYING: A.VERIFY,
    S.DOCUMENTS_ISSUED: A.ISSUE_DOCUMENTS,
    S.TRAVEL_ARRANGED: A.ARRANGE_TRAVEL,
    S.RETURNED: A.RETURN,
    S.HANDED_OVER: A.CONFIRM_HANDOVER,
    S.CLOSED: A.CLOSE,
    S.REJECTED: A.REJECT,
    S.CANCELLED: A.CANCEL,
    S.ON_HOLD: A.HOLD,
    S.SUBMITTED: "SET_SUBMITTED",  # nobody sends a request back to SUBMITTED
}


@pytest.mark.parametrize("target", list(S), ids=[s.value for s in S])
def test_an_update_to_a_status_means_the_step_that_leads_there(
    target: RepatriationStatus,
) -> None:
    assert action_for_update(S.VERIFYING, None, target) == UPDATE_MEANS[target]


@pytest.mark.parametrize(
    "held_from",
    [S.SUBMITTED, S.ACKNOWLEDGED, S.VERIFYING, S.DOCUMENTS_ISSUED, S.TRAVEL_ARRANGED],
)
def test_going_back_to_the_held_from_status_resumes(held_from: RepatriationStatus) -> None:
    assert action_for_update(S.ON_HOLD, held_from, held_from) == A.RESUME
    # Any other status from hold is its ordinary step, which the table then refuses.
    for target in S:
        if target != held_from:
            action = action_for_update(S.ON_HOLD, held_from, target)
            assert action == UPDATE_MEANS[target]
            if action != A.CANCEL:
                assert not any(REPATRIATION_WORKFLOW.allows(S.ON_HOLD, action, r) for r in R)


def test_the_held_from_status_only_resumes_a_request_that_is_on_hold() -> None:
    # A request that is not on hold is not resumed, whatever it remembers.
    assert action_for_update(S.VERIFYING, S.VERIFYING, S.VERIFYING) == A.VERIFY
    # On hold with nothing remembered: no resume, the ordinary step.
    assert action_for_update(S.ON_HOLD, None, S.ACKNOWLEDGED) == A.ACKNOWLEDGE
