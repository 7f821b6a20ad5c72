"""The mechanism every hand-over shares: a table of who may move an object from which
states to which, applied in one place. Referrals and repatriation requests each declare
their own table; nothing else decides a transition. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    """A transition table with its open and final states, and the plain words its refusals use.

    ``states`` says, for each status, what has happened to the object ("has already been
    handed over"); ``role_names`` names each role as its users say it ("embassy"). A refusal
    names the state in those words and lists what the caller may do now, so a partner
    never has to read the table to know the next step.
    """

    def __init__(
        self,
        name: str,
        transitions: Iterable[Transition],
        final: Iterable[str],
        states: Mapping[str, str] | None = None,
        role_names: Mapping[Role, str] | None = None,
    ) -> None:
        self.name = name
        self.transitions = {t.action: t for t in transitions}
        self.final = frozenset(final)
        self.states = dict(states or {})
        self.role_names = dict(role_names or {})

    @property
    def actions(self) -> list[str]:
        return list(self.transitions)

    def allowed_now(self, current: str, roles: Iterable[Role]) -> list[str]:
        """The actions any of ``roles`` may take from ``current``, in table order."""
        held = frozenset(roles)
        return [
            t.action for t in self.transitions.values() if t.roles & held and current in t.sources
        ]

    def refusal(self, current: str, roles: Iterable[Role], reason: str) -> HubError:
        """INVALID_TRANSITION in plain words, with the allowed actions in ``extensions``."""
        allowed = self.allowed_now(current, roles)
        listed = ", ".join(action_words(a) for a in allowed) or "none"
        return HubError(
            ErrorCode.INVALID_TRANSITION,
            f"{reason}; allowed now: {listed}",
            {"allowedActions": allowed},
        )

    def state_words(self, current: str) -> str:
        return self.states.get(current, f"is {current.lower().replace('_', ' ')}")

    def next_state(
        self,
        current: str,
        action: str,
        role: Role,
        all_roles: Iterable[Role] | None = None,
    ) -> Transition:
        """The transition ``role`` may take with ``action`` from ``current``, or an error.

        ``all_roles`` are every role the caller holds on the object (default: ``role``);
        the refusal lists what those roles may do now."""
        roles = frozenset(all_roles) if all_roles is not None else frozenset({role})
        transition = self.transitions.get(action)
        if transition is None:
            raise HubError(ErrorCode.BAD_USER_INPUT, f"unknown action {action}")
        verb = action_words(action)
        if not transition.roles & roles:
            who = " or the ".join(
                sorted(self.role_names.get(r, r.value.lower()) for r in transition.roles)
            )
            raise self.refusal(
                current, roles, f"Cannot {verb}: only the {who} of a {self.name} may do that"
            )
        if current not in transition.sources:
            raise self.refusal(
                current,
                roles,
                f"Cannot {verb}: this {self.name} {self.state_words(current)}",
            )
        return transition

    def allows(self, current: str, action: str, role: Role) -> bool:
        transition = self.transitions.get(action)
        return transition is not None and role in transition.roles and current in transition.sources


def action_words(action: str) -> str:
    """ISSUE_DOCUMENTS -> issue documents: how a refusal names an action."""
    return action.lower().replace("_", " ")


def check_reason_text(reason: str | None, needed: bool, limit: int = 2000) -> str | None:
    """A reason when the transition needs one; never longer than ``limit``."""
    cleaned = (reason or "").strip()
    if needed and not cleaned:
        raise HubError(ErrorCode.BAD_USER_INPUT, "a reason is required")
    if len(cleaned) > limit:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"reason is longer than {limit} characters")
    return cleaned or None
