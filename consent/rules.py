"""The consent policy: may this organisation see this category of a survivor's data, for
this purpose, at this moment? Pure: no I/O, no ORM, no GraphQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Purpose(StrEnum):
    SERVICE_REFERRAL = "SERVICE_REFERRAL"
    LEGAL_AID = "LEGAL_AID"
    REPATRIATION = "REPATRIATION"
    FOLLOW_UP = "FOLLOW_UP"
    STATISTICS = "STATISTICS"


class DataCategory(StrEnum):
    IDENTITY = "IDENTITY"
    CONTACT = "CONTACT"
    HEALTH = "HEALTH"
    LEGAL = "LEGAL"
    TRAFFICKING_EXPERIENCE = "TRAFFICKING_EXPERIENCE"
    LOCATION = "LOCATION"


class Grantor(StrEnum):
    SURVIVOR = "SURVIVOR"
    GUARDIAN = "GUARDIAN"
    # A relative, for a person abroad who cannot be asked yet (an intervention request).
    FAMILY = "FAMILY"


# Consent given by the person herself (or, for a child, her guardian): once recorded it
# replaces any a family member gave on her behalf.
OWN_GRANTORS = frozenset({Grantor.SURVIVOR, Grantor.GUARDIAN})


def family_consent_refusal(
    grantor: Grantor, has_basis: bool, own_consent_recorded: bool
) -> str | None:
    """Why a grant may not be recorded as it stands (None: it may).

    A family member speaks for the person only with a recorded basis (who reported, how
    related, why she cannot consent now), and only until her own consent has been recorded
    (even if she withdrew it since: a relative cannot overrule her)."""
    if grantor is Grantor.FAMILY:
        if not has_basis:
            return "grantor FAMILY needs familyBasis: who reported, relationship, why not herself"
        if own_consent_recorded:
            return "the person's own consent is recorded: a family member's no longer applies"
    elif has_basis:
        return "familyBasis is only for grantor FAMILY"
    return None


class ConsentMethod(StrEnum):
    WRITTEN = "WRITTEN"
    VERBAL = "VERBAL"
    THUMBPRINT = "THUMBPRINT"


class DenyReason(StrEnum):
    """Why a decision said no, from the least to the most specific."""

    RECIPIENT_NOT_COVERED = "RECIPIENT_NOT_COVERED"
    PURPOSE_NOT_COVERED = "PURPOSE_NOT_COVERED"
    CATEGORY_NOT_COVERED = "CATEGORY_NOT_COVERED"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    WITHDRAWN = "WITHDRAWN"


@dataclass(frozen=True, slots=True)
class Recipient:
    organization_id: str
    organization_kind: str


@dataclass(frozen=True, slots=True)
class Grant:
    """One version of a survivor's consent, as recorded. Never edited."""

    id: str
    version: int
    purposes: frozenset[Purpose]
    categories: frozenset[DataCategory]
    valid_from: datetime
    valid_until: datetime | None = None
    recipient_organizations: frozenset[str] = field(default_factory=frozenset)
    recipient_kinds: frozenset[str] = field(default_factory=frozenset)
    withdrawn_at: datetime | None = None

    def names(self, recipient: Recipient) -> bool:
        return (
            recipient.organization_id in self.recipient_organizations
            or recipient.organization_kind in self.recipient_kinds
        )

    def standing_at(self, at: datetime) -> DenyReason | None:
        """None when the grant is in force at ``at``, otherwise why not."""
        if self.withdrawn_at is not None and at >= self.withdrawn_at:
            return DenyReason.WITHDRAWN
        if at < self.valid_from:
            return DenyReason.NOT_YET_VALID
        if self.valid_until is not None and at >= self.valid_until:
            return DenyReason.EXPIRED
        return None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: DenyReason | None = None
    grant_id: str | None = None
    grant_version: int | None = None


_SPECIFICITY = list(DenyReason)


def decide(
    grants: Iterable[Grant],
    recipient: Recipient,
    purpose: Purpose,
    category: DataCategory,
    at: datetime,
) -> Decision:
    """Allow when at least one grant in force at ``at`` names the recipient (by name or by
    kind) for this purpose and category; the newest such grant is the one to cite.

    Otherwise deny with the most specific reason found: a grant that would have covered
    the request but was withdrawn, expired or not yet valid says so; failing that, the
    closest miss (category, then purpose, then recipient).
    """
    best: Grant | None = None
    reason = DenyReason.RECIPIENT_NOT_COVERED
    for grant in grants:
        if not grant.names(recipient):
            continue
        if purpose not in grant.purposes:
            miss = DenyReason.PURPOSE_NOT_COVERED
        elif category not in grant.categories:
            miss = DenyReason.CATEGORY_NOT_COVERED
        else:
            standing = grant.standing_at(at)
            if standing is None:
                if best is None or (grant.valid_from, grant.version) > (
                    best.valid_from,
                    best.version,
                ):
                    best = grant
                continue
            miss = standing
        if _SPECIFICITY.index(miss) > _SPECIFICITY.index(reason):
            reason = miss
    if best is not None:
        return Decision(True, None, best.id, best.version)
    return Decision(False, reason)


def covers(grants: Iterable[Grant], recipient: Recipient, purpose: Purpose, at: datetime) -> bool:
    """True when some grant in force lets ``recipient`` see at least one category for
    ``purpose``: what a referral or repatriation request needs to be sent, and to go on."""
    held = list(grants)
    return any(decide(held, recipient, purpose, c, at).allowed for c in DataCategory)
