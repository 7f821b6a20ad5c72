"""The coordinator's desk: what counts as late, how lateness is summarised, which API
clients need attention. Pure: no I/O, no SQLAlchemy, no Strawberry.

The desk shows workflow metadata only (ids, organisations, statuses, timestamps): never a
survivor field or a free text, so none of these rules ever sees one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class DeskItemKind(StrEnum):
    """The kinds of item that carry a deadline the network can miss."""

    REFERRAL = "REFERRAL"
    REPATRIATION_REQUEST = "REPATRIATION_REQUEST"
    FOLLOW_UP_VISIT = "FOLLOW_UP_VISIT"
    INTERVENTION_REQUEST = "INTERVENTION_REQUEST"


# The event topic each kind's desk events go out on (the same as the item's own events).
TOPIC_OF: dict[DeskItemKind, str] = {
    DeskItemKind.REFERRAL: "REFERRAL",
    DeskItemKind.REPATRIATION_REQUEST: "REPATRIATION",
    DeskItemKind.FOLLOW_UP_VISIT: "REINTEGRATION",
    DeskItemKind.INTERVENTION_REQUEST: "REPATRIATION",
}


def coordinator_may_read(kind: DeskItemKind, item_id: str) -> dict[str, str]:
    """What an escalation event tells the coordinators they may now read: the item's kind
    and id, through the ``deskItem`` query (metadata only, never the survivor)."""
    return {"kind": kind.value, "id": item_id, "query": "deskItem"}


def on_the_desk(overdue: bool, escalated_at: datetime | None) -> bool:
    """An item reaches the coordinator's desk once the deadline pass marked it overdue or
    escalated it; from then on its metadata (never its survivor) is the coordinator's to see.
    An item acknowledged late stays escalated, so the desk keeps its history."""
    return overdue or escalated_at is not None


def late_by(due_at: datetime, now: datetime) -> timedelta:
    """How late an item is now (zero if its deadline has not passed)."""
    return max(now - due_at, timedelta(0))


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``; None when empty.
    Nearest rank, not interpolation: the answer is always a time some item really took."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-round(fraction * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class AcknowledgementRecord:
    """One acknowledgement: how long it took and whether it came after the deadline."""

    organization_id: str
    seconds: float
    late: bool


@dataclass(frozen=True, slots=True)
class AcknowledgementSummary:
    organization_id: str
    acknowledged: int
    late: int
    median_seconds: float | None
    p90_seconds: float | None


def summarise_acknowledgements(
    records: Sequence[AcknowledgementRecord], waiting_late: dict[str, int]
) -> list[AcknowledgementSummary]:
    """Per organisation: acknowledgements, how many were late, median and 90th percentile
    time to acknowledge. ``waiting_late`` counts items still unacknowledged past their
    deadline, which count as late too. Only organisations with something late are listed,
    latest first (most late, then slowest median)."""
    by_org: dict[str, list[AcknowledgementRecord]] = {}
    for record in records:
        by_org.setdefault(record.organization_id, []).append(record)
    summaries: list[AcknowledgementSummary] = []
    for organization_id in sorted(set(by_org) | set(waiting_late)):
        mine = by_org.get(organization_id, [])
        late = sum(1 for r in mine if r.late) + waiting_late.get(organization_id, 0)
        if late == 0:
            continue
        seconds = [r.seconds for r in mine]
        summaries.append(
            AcknowledgementSummary(
                organization_id=organization_id,
                acknowledged=len(mine),
                late=late,
                median_seconds=percentile(seconds, 0.5),
                p90_seconds=percentile(seconds, 0.9),
            )
        )
    summaries.sort(key=lambda s: (-s.late, -(s.median_seconds or 0.0), s.organization_id))
    return summaries


@dataclass(frozen=True, slots=True)
class ClientPolicy:
    """When an API client needs the coordinator's attention.

    ``unused_after``: no token issued for this long (or never, once this old).
    ``rotate_after``: a secret or key this old is due for rotation; ``warn_before`` ahead of
    that it is "near expiry"."""

    unused_after: timedelta = timedelta(days=30)
    rotate_after: timedelta = timedelta(days=180)
    warn_before: timedelta = timedelta(days=14)


class ClientConcern(StrEnum):
    UNUSED = "UNUSED"
    NEVER_USED = "NEVER_USED"
    NEVER_ROTATED = "NEVER_ROTATED"
    KEY_NEAR_EXPIRY = "KEY_NEAR_EXPIRY"
    KEY_EXPIRED = "KEY_EXPIRED"


def client_concerns(
    *,
    created_at: datetime,
    rotated_at: datetime | None,
    last_token_at: datetime | None,
    now: datetime,
    policy: ClientPolicy,
) -> list[ClientConcern]:
    """What is wrong with one enabled client, if anything (an empty list: nothing)."""
    concerns: list[ClientConcern] = []
    if last_token_at is None:
        if now - created_at >= policy.unused_after:
            concerns.append(ClientConcern.NEVER_USED)
    elif now - last_token_at >= policy.unused_after:
        concerns.append(ClientConcern.UNUSED)
    key_since = rotated_at or created_at
    expires = key_since + policy.rotate_after
    if rotated_at is None and now - created_at >= policy.rotate_after - policy.warn_before:
        concerns.append(ClientConcern.NEVER_ROTATED)
    if now >= expires:
        concerns.append(ClientConcern.KEY_EXPIRED)
    elif now >= expires - policy.warn_before:
        concerns.append(ClientConcern.KEY_NEAR_EXPIRY)
    return concerns


def key_expires_at(
    created_at: datetime, rotated_at: datetime | None, policy: ClientPolicy
) -> datetime:
    """When a client's secret or key is due for rotation under the policy."""
    return (rotated_at or created_at) + policy.rotate_after
