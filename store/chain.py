"""What the hub's two hash chains (the audit trail and the disclosure log) share.

Each entry stores the hash of the entry before it and a hash of its own content and
position, so an edited, deleted or reordered entry breaks the chain where it happened.
A cut at the tail or a chain recomputed from scratch is caught only against a signed
checkpoint (see ``consent.checkpoint``).
"""

from __future__ import annotations

from dataclasses import dataclass

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of walking one chain: how many entries, and the first that does not fit."""

    entries: int
    first_broken: int | None
    problem: str | None
    head: str = GENESIS

    @property
    def intact(self) -> bool:
        return self.first_broken is None
