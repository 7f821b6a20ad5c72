"""The mechanism every hand-over shares: a table of who may move an object from which
states to which, applied in one place. Referrals and repatriation requests each declare
their own table; nothing else decides a transition. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from store.errors import ErrorCode, HubError


class Role(StrEnum):
    """How the acting organisation relates to the object."""

    SENDER = "SENDER"  # sent the referral / asked for the repatriation
    RECEIVER = "RECEIVER"  # the receiving organisation / the embassy
    RECEPTION = "RECEPTION"  # the reception organisation at home (repatriation)
    SYSTEM = "SYSTEM"  # the hub itself: deadlines


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    roles: frozenset[Role]
    sources: frozenset[str]
    target: str
    needs_reason: bool = False


class Workflow:
    """A transition table with its open and final states."""

    def __init__(self, name: str, transitions: Iterable[Transition], final: Iterable[str]) -> None:
        self.name = name
        self.transitions = {t.action: t for t in transitions}
        self.final = frozenset(final)

    @property
    def actions(self) -> list[str]:
        return list(self.transitions)

    def next_state(self, current: str, action: str, role: Role) -> Transition:
        """The transition ``role`` may take with ``action`` from ``current``, or an error."""
        transition = self.transitions.get(action)
        if transition is None:
            raise HubError(ErrorCode.BAD_USER_INPUT, f"unknown action {action}")
        if role not in transition.roles:
            raise HubError(
                ErrorCode.INVALID_TRANSITION,
                f"the {role.value.lower()} of a {self.name} cannot {action.lower()} it",
            )
        if current not in transition.sources:
            raise HubError(
                ErrorCode.INVALID_TRANSITION,
                f"cannot {action.lower()} a {self.name} that is {current}",
            )
        return transition

    def allows(self, current: str, action: str, role: Role) -> bool:
        transition = self.transitions.get(action)
        return transition is not None and role in transition.roles and current in transition.sources


def check_reason_text(reason: str | None, needed: bool, limit: int = 2000) -> str | None:
    """A reason when the transition needs one; never longer than ``limit``."""
    cleaned = (reason or "").strip()
    if needed and not cleaned:
        raise HubError(ErrorCode.BAD_USER_INPUT, "a reason is required")
    if len(cleaned) > limit:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"reason is longer than {limit} characters")
    return cleaned or None
