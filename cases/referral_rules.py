"""The referral lifecycle, after FHIR Task statuses, and its deadlines. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum

from cases.workflow import Role, Transition, Workflow
from orgs.rules import ServiceCategory
from store.errors import ErrorCode, HubError


class ReferralStatus(StrEnum):
    SENT = "SENT"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    ON_HOLD = "ON_HOLD"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class ReferralAction(StrEnum):
    ACKNOWLEDGE = "ACKNOWLEDGE"
    ACCEPT = "ACCEPT"
    DECLINE = "DECLINE"
    HOLD = "HOLD"
    START = "START"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    CANCEL = "CANCEL"
    EXPIRE = "EXPIRE"
    # The hub holds a referral when the survivor's consent stops covering it, and lets it go
    # back to where it was when a new consent covers it again.
    CONSENT_HOLD = "CONSENT_HOLD"
    CONSENT_RESUME = "CONSENT_RESUME"


class Urgency(StrEnum):
    ROUTINE = "ROUTINE"
    URGENT = "URGENT"
    EMERGENCY = "EMERGENCY"


S = ReferralStatus
A = ReferralAction
RECEIVER = frozenset({Role.RECEIVER})
SENDER = frozenset({Role.SENDER})
SYSTEM = frozenset({Role.SYSTEM})

OPEN = frozenset({S.SENT, S.ACKNOWLEDGED, S.ACCEPTED, S.ON_HOLD, S.IN_PROGRESS})
# RESUME's target is resolved from the referral: the status it was held from.
HELD_FROM = "HELD_FROM"

REFERRAL_WORKFLOW = Workflow(
    "referral",
    [
        Transition(A.ACKNOWLEDGE, RECEIVER, frozenset({S.SENT}), S.ACKNOWLEDGED),
        Transition(A.ACCEPT, RECEIVER, frozenset({S.ACKNOWLEDGED, S.ON_HOLD}), S.ACCEPTED),
        Transition(A.DECLINE, RECEIVER, frozenset({S.ACKNOWLEDGED, S.ON_HOLD}), S.DECLINED, True),
        Transition(A.HOLD, RECEIVER, frozenset({S.ACKNOWLEDGED}), S.ON_HOLD, True),
        Transition(A.START, RECEIVER, frozenset({S.ACCEPTED}), S.IN_PROGRESS),
        Transition(A.COMPLETE, RECEIVER, frozenset({S.IN_PROGRESS}), S.COMPLETED),
        Transition(A.FAIL, RECEIVER, frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.FAILED, True),
        Transition(A.CANCEL, SENDER, OPEN, S.CANCELLED, True),
        Transition(A.EXPIRE, SYSTEM, frozenset({S.SENT}), S.EXPIRED),
        Transition(A.CONSENT_HOLD, SYSTEM, OPEN, S.ON_HOLD),
        Transition(A.CONSENT_RESUME, SYSTEM, frozenset({S.ON_HOLD}), HELD_FROM),
    ],
    final={S.DECLINED, S.COMPLETED, S.FAILED, S.CANCELLED, S.EXPIRED},
    states={
        S.SENT: "has been sent and not yet acknowledged",
        S.ACKNOWLEDGED: "has been acknowledged and awaits an answer",
        S.ACCEPTED: "has been accepted and the service has not started",
        S.DECLINED: "has already been declined",
        S.ON_HOLD: "is on hold",
        S.IN_PROGRESS: "is in progress",
        S.COMPLETED: "has already been completed",
        S.FAILED: "has already failed",
        S.CANCELLED: "has already been cancelled",
        S.EXPIRED: "expired before it was acknowledged",
    },
    role_names={
        Role.SENDER: "sending organisation",
        Role.RECEIVER: "receiving organisation",
        Role.SYSTEM: "hub (deadlines)",
    },
)

# (acknowledge within, respond within) by urgency, when the sender gives no deadline.
DEFAULT_DEADLINES: dict[Urgency, tuple[timedelta, timedelta]] = {
    Urgency.EMERGENCY: (timedelta(hours=4), timedelta(hours=24)),
    Urgency.URGENT: (timedelta(hours=24), timedelta(hours=72)),
    Urgency.ROUTINE: (timedelta(hours=72), timedelta(days=7)),
}


# While held for consent the parties may only let the referral go; nothing moves it forward.
ALLOWED_WHILE_HELD_FOR_CONSENT = frozenset({A.DECLINE, A.CANCEL, A.CONSENT_RESUME})


def check_not_held_for_consent(held_for_consent: bool, action: str) -> None:
    """INVALID_TRANSITION for a step forward while the survivor's consent does not cover it."""
    if held_for_consent and action not in ALLOWED_WHILE_HELD_FOR_CONSENT:
        raise HubError(
            ErrorCode.INVALID_TRANSITION,
            "the referral is on hold until the survivor's consent covers it again",
        )


def purpose_of(services: list[ServiceCategory]) -> str:
    """The consent purpose a referral serves: legal aid, or service referral."""
    return "LEGAL_AID" if ServiceCategory.LEGAL_AID in services else "SERVICE_REFERRAL"


def offer_refusal(
    services: Iterable[ServiceCategory], offered: Iterable[str], closed: Iterable[str]
) -> str | None:
    """Why the receiver cannot take these services (None: it can). ``offered`` names the
    categories it publishes, ``closed`` those of them not accepting referrals now."""
    missing = sorted({s.value for s in services} - set(offered))
    if missing:
        return f"the receiver does not offer: {', '.join(missing)}"
    shut = sorted(set(closed))
    if shut:
        return f"the receiver is not accepting referrals for: {', '.join(shut)}"
    return None
