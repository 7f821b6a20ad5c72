"""The custody transfer table, checked cell by cell against a table written out by hand:
every status, every action, every party. Anything not listed below is refused."""

from __future__ import annotations

import itertools

import pytest

from cases.custody_rules import (
    CUSTODY_WORKFLOW,
    TransferAction,
    TransferStatus,
    check_addressee,
)
from cases.workflow import Role
from orgs.rules import MembershipStatus, OrganizationKind
from store.errors import ErrorCode, HubError

S = TransferStatus
A = TransferAction
R = Role
OFFERER, ADDRESSEE = R.SENDER, R.RECEIVER

# (status, action, role) -> (target, needs a reason). From the issue: the addressee accepts
# or declines (with a reason) an open offer; the offerer may cancel it before an answer.
# Nobody else moves an offer, and an answered offer never moves again.
EXPECTED: dict[tuple[TransferStatus, TransferAction, Role], tuple[str, bool]] = {
    (S.OFFERED, A.ACCEPT, ADDRESSEE): (S.ACCEPTED, False),
    (S.OFFERED, A.DECLINE, ADDRESSEE): (S.DECLINED, True),
    (S.OFFERED, A.CANCEL, OFFERER): (S.CANCELLED, False),
    # An offer not answered in time: only the hub expires it (its deadline pass).
    (S.OFFERED, A.EXPIRE, R.SYSTEM): (S.EXPIRED, False),
}
ALL_CELLS = list(itertools.product(S, A, R))
REFUSED = [cell for cell in ALL_CELLS if cell not in EXPECTED]


def _id(cell: tuple[TransferStatus, TransferAction, Role]) -> str:
    return "-".join(part.value for part in cell)


def test_the_hand_written_table_covers_every_status_action_and_party() -> None:
    assert len(ALL_CELLS) == 5 * 4 * 4 and len(REFUSED) == 76
    assert CUSTODY_WORKFLOW.final == {S.ACCEPTED, S.DECLINED, S.CANCELLED, S.EXPIRED}
    assert sorted(CUSTODY_WORKFLOW.actions) == sorted(a.value for a in A)


@pytest.mark.parametrize(("status", "action", "role"), list(EXPECTED), ids=map(_id, EXPECTED))
def test_an_allowed_step_leads_where_the_table_says(
    status: TransferStatus, action: TransferAction, role: Role
) -> None:
    target, needs_reason = EXPECTED[(status, action, role)]
    step = CUSTODY_WORKFLOW.next_state(status, action, role)
    assert step.target == target
    assert step.needs_reason is needs_reason
    assert CUSTODY_WORKFLOW.allows(status, action, role) is True


@pytest.mark.parametrize(("status", "action", "role"), REFUSED, ids=map(_id, REFUSED))
def test_every_other_step_is_an_invalid_transition(
    status: TransferStatus, action: TransferAction, role: Role
) -> None:
    with pytest.raises(HubError) as refused:
        CUSTODY_WORKFLOW.next_state(status, action, role)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    assert CUSTODY_WORKFLOW.allows(status, action, role) is False


def test_a_refusal_says_what_happened_and_what_the_caller_may_do() -> None:
    with pytest.raises(HubError) as refused:
        CUSTODY_WORKFLOW.next_state(S.OFFERED, A.ACCEPT, OFFERER)
    assert "only the addressee" in refused.value.message
    assert refused.value.extensions == {"allowedActions": ["CANCEL"]}
    with pytest.raises(HubError) as late:
        CUSTODY_WORKFLOW.next_state(S.DECLINED, A.ACCEPT, ADDRESSEE)
    assert "has already been declined" in late.value.message


K, M = OrganizationKind, MembershipStatus


@pytest.mark.parametrize(
    ("addressee", "kind", "status", "why"),
    [
        ("org-a", K.SERVICE_PROVIDER, M.ACTIVE, "to its owner"),
        ("org-b", K.SERVICE_PROVIDER, M.SUSPENDED, "not an active member"),
        ("org-b", K.GOVERNMENT, M.PENDING, "not an active member"),
        ("org-b", K.SERVICE_PROVIDER, M.REVOKED, "not an active member"),
        ("org-b", K.EMBASSY, M.ACTIVE, "cannot own cases"),
        ("org-b", K.COORDINATOR, M.ACTIVE, "cannot own cases"),
    ],
)
def test_a_case_goes_only_to_another_active_member_that_may_own_cases(
    addressee: str, kind: OrganizationKind, status: MembershipStatus, why: str
) -> None:
    with pytest.raises(HubError) as refused:
        check_addressee("org-a", addressee, kind, status)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT and why in refused.value.message


@pytest.mark.parametrize("kind", [k for k in K if k not in (K.EMBASSY, K.COORDINATOR)])
def test_every_casework_kind_may_receive_a_case(kind: OrganizationKind) -> None:
    check_addressee("org-a", "org-b", kind, M.ACTIVE)


def test_an_unanswered_offer_is_reminded_the_day_before_then_expires() -> None:
    from datetime import UTC, datetime, timedelta

    from cases.custody_rules import ANSWER_WINDOW, OfferStep, answer_by, offer_step

    offered = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    due = answer_by(offered)
    assert due == offered + ANSWER_WINDOW
    assert offer_step(offered, False, offered + timedelta(days=1)) is None
    assert offer_step(offered, False, due - timedelta(hours=23)) is OfferStep.REMIND
    assert offer_step(offered, True, due - timedelta(hours=23)) is None
    assert offer_step(offered, True, due) is OfferStep.EXPIRE
    assert offer_step(offered, False, due + timedelta(days=3)) is OfferStep.EXPIRE
