"""Custody of a case: who owns it, and how it passes from one organisation to another.
Pure: no I/O, no ORM, no GraphQL.

An owner offers its case to another organisation; the addressee accepts (and owns the case
from then on) or declines with a reason; the offerer may withdraw the offer before an answer.
One offer per case may be open at a time, so two organisations can never both be promised it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from cases.workflow import Role, Transition, Workflow
from orgs.rules import SCOPE_CEILING, MembershipStatus, OrganizationKind
from store.errors import ErrorCode, HubError


class TransferStatus(StrEnum):
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class TransferAction(StrEnum):
    ACCEPT = "ACCEPT"
    DECLINE = "DECLINE"
    CANCEL = "CANCEL"
    EXPIRE = "EXPIRE"


class TransferOrigin(StrEnum):
    """Why the offer exists: a member offered it, or a repatriation hand-over did."""

    OFFER = "OFFER"
    HANDOVER = "HANDOVER"


S = TransferStatus
A = TransferAction
OFFERER = frozenset({Role.SENDER})
ADDRESSEE = frozenset({Role.RECEIVER})
HUB = frozenset({Role.SYSTEM})

CUSTODY_WORKFLOW = Workflow(
    "custody transfer",
    [
        Transition(A.ACCEPT, ADDRESSEE, frozenset({S.OFFERED}), S.ACCEPTED),
        Transition(A.DECLINE, ADDRESSEE, frozenset({S.OFFERED}), S.DECLINED, True),
        Transition(A.CANCEL, OFFERER, frozenset({S.OFFERED}), S.CANCELLED),
        # The hub, when an offer is not answered in time (cases/custody_deadlines.py).
        Transition(A.EXPIRE, HUB, frozenset({S.OFFERED}), S.EXPIRED),
    ],
    final={S.ACCEPTED, S.DECLINED, S.CANCELLED, S.EXPIRED},
    states={
        S.OFFERED: "is offered and awaits an answer",
        S.ACCEPTED: "has already been accepted",
        S.DECLINED: "has already been declined",
        S.CANCELLED: "has already been cancelled",
        S.EXPIRED: "expired unanswered",
    },
    role_names={
        Role.SENDER: "offering organisation",
        Role.RECEIVER: "addressee",
        Role.SYSTEM: "hub",
    },
)

# The scope an owner needs: an organisation whose kind may never hold it cannot own a case.
OWNER_SCOPE = "cases:write"


def check_addressee(
    offerer_id: str, addressee_id: str, kind: OrganizationKind, status: MembershipStatus
) -> None:
    """BAD_USER_INPUT unless the addressee is another active member that may own cases."""
    if addressee_id == offerer_id:
        raise HubError(ErrorCode.BAD_USER_INPUT, "a case cannot be transferred to its owner")
    if status != MembershipStatus.ACTIVE:
        raise HubError(ErrorCode.BAD_USER_INPUT, "the addressee is not an active member")
    if OWNER_SCOPE not in SCOPE_CEILING[kind]:
        raise HubError(
            ErrorCode.BAD_USER_INPUT,
            f"an organisation of kind {kind.value} cannot own cases",
        )


def open_offer_conflict() -> HubError:
    return HubError(
        ErrorCode.CONFLICT,
        "the case already has an open transfer offer: it must be answered or cancelled first",
    )


# An offer is answered within this window, like a repatriation request is acknowledged: the
# addressee is reminded the day before, then the offer expires and the case stays with its
# owner, who may offer it again. A hand-over offer expires the same way.
ANSWER_WINDOW = timedelta(days=7)
REMIND_BEFORE = timedelta(days=1)


class OfferStep(StrEnum):
    REMIND = "REMIND"
    EXPIRE = "EXPIRE"


def answer_by(offered_at: datetime) -> datetime:
    """When an offer made at ``offered_at`` must be answered."""
    return offered_at + ANSWER_WINDOW


def offer_step(offered_at: datetime, reminded: bool, now: datetime) -> OfferStep | None:
    """What the hub does with an open offer at ``now``: expire it once it is due, remind the
    addressee once in the day before, otherwise nothing."""
    due = answer_by(offered_at)
    if due <= now:
        return OfferStep.EXPIRE
    if not reminded and due - REMIND_BEFORE <= now:
        return OfferStep.REMIND
    return None
