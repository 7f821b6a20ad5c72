"""The referral lifecycle table, checked cell by cell against a table written out by hand:
every status by every action by every party. Anything not listed below is refused."""

from __future__ import annotations

import itertools

import pytest

from cases.referral_rules import HELD_FROM, REFERRAL_WORKFLOW, ReferralAction, ReferralStatus
from cases.workflow import Role, check_reason_text
from store.errors import ErrorCode, HubError

S = ReferralStatus
A = ReferralAction
R = Role

# (status, action, role) -> (target, needs a reason). Written by hand from the issue
# ("Referrals that close the loop", FHIR Task statuses): the receiver acknowledges, then
# accepts, declines or waitlists; accepted work starts and completes or fails; the sender
# cancels anything still open; the hub expires what nobody acknowledged.
EXPECTED: dict[tuple[ReferralStatus, ReferralAction, Role], tuple[ReferralStatus, bool]] = {
    (S.SENT, A.ACKNOWLEDGE, R.RECEIVER): (S.ACKNOWLEDGED, False),
    (S.ACKNOWLEDGED, A.ACCEPT, R.RECEIVER): (S.ACCEPTED, False),
    (S.ON_HOLD, A.ACCEPT, R.RECEIVER): (S.ACCEPTED, False),
    (S.ACKNOWLEDGED, A.DECLINE, R.RECEIVER): (S.DECLINED, True),
    (S.ON_HOLD, A.DECLINE, R.RECEIVER): (S.DECLINED, True),
    (S.ACKNOWLEDGED, A.HOLD, R.RECEIVER): (S.ON_HOLD, True),
    (S.ACCEPTED, A.START, R.RECEIVER): (S.IN_PROGRESS, False),
    (S.IN_PROGRESS, A.COMPLETE, R.RECEIVER): (S.COMPLETED, False),
    (S.ACCEPTED, A.FAIL, R.RECEIVER): (S.FAILED, True),
    (S.IN_PROGRESS, A.FAIL, R.RECEIVER): (S.FAILED, True),
    (S.SENT, A.CANCEL, R.SENDER): (S.CANCELLED, True),
    (S.ACKNOWLEDGED, A.CANCEL, R.SENDER): (S.CANCELLED, True),
    (S.ACCEPTED, A.CANCEL, R.SENDER): (S.CANCELLED, True),
    (S.ON_HOLD, A.CANCEL, R.SENDER): (S.CANCELLED, True),
    (S.IN_PROGRESS, A.CANCEL, R.SENDER): (S.CANCELLED, True),
    (S.SENT, A.EXPIRE, R.SYSTEM): (S.EXPIRED, False),
    # The hub holds every open referral the survivor's consent stops covering (issue 9),
    # and lets it go back to the status it was held from (resolved per referral).
    (S.SENT, A.CONSENT_HOLD, R.SYSTEM): (S.ON_HOLD, False),
    (S.ACKNOWLEDGED, A.CONSENT_HOLD, R.SYSTEM): (S.ON_HOLD, False),
    (S.ACCEPTED, A.CONSENT_HOLD, R.SYSTEM): (S.ON_HOLD, False),
    (S.ON_HOLD, A.CONSENT_HOLD, R.SYSTEM): (S.ON_HOLD, False),
    (S.IN_PROGRESS, A.CONSENT_HOLD, R.SYSTEM): (S.ON_HOLD, False),
    (S.ON_HOLD, A.CONSENT_RESUME, R.SYSTEM): (HELD_FROM, False),  # type: ignore[dict-item]
}

FINAL = {S.DECLINED, S.COMPLETED, S.FAILED, S.CANCELLED, S.EXPIRED}
ALL_CELLS = list(itertools.product(S, A, R))
REFUSED = [cell for cell in ALL_CELLS if cell not in EXPECTED]


def test_the_hand_written_table_covers_every_status_action_and_party() -> None:
    assert len(list(S)) == 10 and len(list(A)) == 11 and len(list(R)) == 4
    assert len(ALL_CELLS) == 440
    assert len(EXPECTED) == 22 and len(REFUSED) == 418
    # Nothing a party may do from a state the hand-written table itself calls final.
    assert not [cell for cell in EXPECTED if cell[0] in FINAL]


@pytest.mark.parametrize(
    ("status", "action", "role"),
    list(EXPECTED),
    ids=[f"{s.value}-{a.value}-{r.value}" for s, a, r in EXPECTED],
)
def test_an_allowed_step_leads_where_the_table_says(
    status: ReferralStatus, action: ReferralAction, role: Role
) -> None:
    target, needs_reason = EXPECTED[(status, action, role)]
    step = REFERRAL_WORKFLOW.next_state(status, action, role)
    assert step.target == target
    assert step.needs_reason is needs_reason
    assert REFERRAL_WORKFLOW.allows(status, action, role) is True


@pytest.mark.parametrize(
    ("status", "action", "role"),
    REFUSED,
    ids=[f"{s.value}-{a.value}-{r.value}" for s, a, r in REFUSED],
)
def test_every_other_step_is_an_invalid_transition(
    status: ReferralStatus, action: ReferralAction, role: Role
) -> None:
    with pytest.raises(HubError) as refused:
        REFERRAL_WORKFLOW.next_state(status, action, role)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    assert REFERRAL_WORKFLOW.allows(status, action, role) is False


def test_final_states_are_exactly_declined_completed_failed_cancelled_expired() -> None:
    assert set(REFERRAL_WORKFLOW.final) == FINAL
    for status in FINAL:
        for action, role in itertools.product(A, R):
            assert not REFERRAL_WORKFLOW.allows(status, action, role), (status, action, role)


def test_reception_never_acts_on_a_referral() -> None:
    # RECEPTION belongs to repatriation; a referral has no such party.
    assert not [
        (s, a) for s, a in itertools.product(S, A) if REFERRAL_WORKFLOW.allows(s, a, R.RECEPTION)
    ]


def test_the_receiver_moves_the_work_and_the_sender_only_cancels() -> None:
    by_role = {role: {a for (_, a, r) in EXPECTED if r is role} for role in R}
    assert by_role[R.SENDER] == {A.CANCEL}
    assert by_role[R.SYSTEM] == {A.EXPIRE, A.CONSENT_HOLD, A.CONSENT_RESUME}
    assert by_role[R.RECEIVER] == {
        A.ACKNOWLEDGE,
        A.ACCEPT,
        A.DECLINE,
        A.HOLD,
        A.START,
        A.COMPLETE,
        A.FAIL,
    }


def test_an_unknown_action_is_bad_input_not_a_transition() -> None:
    with pytest.raises(HubError) as refused:
        REFERRAL_WORKFLOW.next_state(S.SENT, "REOPEN", R.RECEIVER)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
    assert REFERRAL_WORKFLOW.allows(S.SENT, "REOPEN", R.RECEIVER) is False


# --- reasons -------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   ", "\n\t  "])
def test_a_step_that_needs_a_reason_refuses_none_or_whitespace(reason: str | None) -> None:
    with pytest.raises(HubError) as refused:
        check_reason_text(reason, True)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_step_without_a_reason_records_none(reason: str | None) -> None:
    assert check_reason_text(reason, False) is None


def test_a_reason_is_kept_without_surrounding_whitespace() -> None:
    assert check_reason_text("  no bed until March \n", True) == "no bed until March"
    assert check_reason_text(" optional note ", False) == "optional note"


def test_a_reason_may_be_2000_characters_and_no_more() -> None:
    assert check_reason_text("x" * 2000, True) == "x" * 2000
    # Surrounding whitespace does not count against the limit.
    assert check_reason_text("  " + "x" * 2000 + "  ", True) == "x" * 2000
    for needed in (True, False):
        with pytest.raises(HubError) as refused:
            check_reason_text("x" * 2001, needed)
        assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_the_reason_limit_can_be_set_by_the_caller() -> None:
    assert check_reason_text("x" * 10, True, limit=10) == "x" * 10
    with pytest.raises(HubError) as refused:
        check_reason_text("x" * 11, True, limit=10)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
