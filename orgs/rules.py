"""Membership rules: kinds, statuses, who may hold which scopes. Pure, no I/O."""

from __future__ import annotations

from enum import StrEnum

import pycountry

from orgs.places import find_place
from store.errors import ErrorCode, HubError


class OrganizationKind(StrEnum):
    SERVICE_PROVIDER = "SERVICE_PROVIDER"
    LEGAL_AID = "LEGAL_AID"
    GOVERNMENT = "GOVERNMENT"
    EMBASSY = "EMBASSY"
    DESTINATION_NGO = "DESTINATION_NGO"
    INTERNATIONAL_ORG = "INTERNATIONAL_ORG"
    COORDINATOR = "COORDINATOR"


class ServiceCategory(StrEnum):
    EMERGENCY_SUPPORT = "EMERGENCY_SUPPORT"
    SHELTER = "SHELTER"
    MEDICAL = "MEDICAL"
    PSYCHOSOCIAL = "PSYCHOSOCIAL"
    LEGAL_AID = "LEGAL_AID"
    EDUCATION = "EDUCATION"
    VOCATIONAL_TRAINING = "VOCATIONAL_TRAINING"
    LIVELIHOOD_GRANT = "LIVELIHOOD_GRANT"
    FAMILY_TRACING = "FAMILY_TRACING"
    REINTEGRATION_FOLLOW_UP = "REINTEGRATION_FOLLOW_UP"
    REPATRIATION_ASSISTANCE = "REPATRIATION_ASSISTANCE"


class MembershipStatus(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


class MembershipAction(StrEnum):
    ACTIVATE = "ACTIVATE"
    SUSPEND = "SUSPEND"
    REINSTATE = "REINSTATE"
    REVOKE = "REVOKE"


ALL_SCOPES: frozenset[str] = frozenset(
    {
        "network:admin",
        "orgs:read",
        "cases:read",
        "cases:write",
        "consent:write",
        "referrals:read",
        "referrals:write",
        "repatriation:read",
        "repatriation:write",
        "events:subscribe",
        "pii:read",
        "clients:manage",
        # `_service { sdl }`: the whole schema, for a federation gateway composing it.
        "federation:read",
        "metrics:read",
        # Suppressed statistics tables, their CSV and charts (cases/statistics.py).
        "statistics:read",
        # Pseudonymised HTCDS exports for the national database (cases/exports.py).
        "exports:read",
    }
)

_CASEWORK = frozenset(
    {
        "orgs:read",
        "cases:read",
        "cases:write",
        "consent:write",
        "referrals:read",
        "referrals:write",
        "repatriation:read",
        "events:subscribe",
        "pii:read",
        "clients:manage",
    }
)

# The most a client of each kind of organisation may ever hold.
SCOPE_CEILING: dict[OrganizationKind, frozenset[str]] = {
    OrganizationKind.SERVICE_PROVIDER: _CASEWORK,
    OrganizationKind.LEGAL_AID: _CASEWORK | {"repatriation:write"},
    # The national database is kept by the government: it receives HTCDS exports.
    OrganizationKind.GOVERNMENT: _CASEWORK | {"repatriation:write", "exports:read"},
    OrganizationKind.DESTINATION_NGO: _CASEWORK | {"repatriation:write"},
    OrganizationKind.INTERNATIONAL_ORG: _CASEWORK | {"repatriation:write"},
    # Embassies verify identity and run repatriation; they do not own cases or consent.
    OrganizationKind.EMBASSY: frozenset(
        {
            "orgs:read",
            "cases:read",
            "referrals:read",
            "repatriation:read",
            "repatriation:write",
            "events:subscribe",
            "pii:read",
            "clients:manage",
        }
    ),
    # The secretariat runs the network; it sees workflow, never survivor data. It also
    # operates the hub, so its operator's client may scrape metrics (no survivor data there).
    OrganizationKind.COORDINATOR: frozenset(
        {
            "network:admin",
            "orgs:read",
            "referrals:read",
            "repatriation:read",
            "events:subscribe",
            "clients:manage",
            "federation:read",
            "metrics:read",
            "statistics:read",
        }
    ),
}

# (action) -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[MembershipAction, tuple[frozenset[MembershipStatus], MembershipStatus]] = {
    MembershipAction.ACTIVATE: (frozenset({MembershipStatus.PENDING}), MembershipStatus.ACTIVE),
    MembershipAction.SUSPEND: (frozenset({MembershipStatus.ACTIVE}), MembershipStatus.SUSPENDED),
    MembershipAction.REINSTATE: (
        frozenset({MembershipStatus.SUSPENDED}),
        MembershipStatus.ACTIVE,
    ),
    MembershipAction.REVOKE: (
        frozenset({MembershipStatus.PENDING, MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED}),
        MembershipStatus.REVOKED,
    ),
}

MAX_REASON = 2000


def next_status(current: MembershipStatus, action: MembershipAction) -> MembershipStatus:
    """The status ``action`` leads to from ``current``, or INVALID_TRANSITION."""
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise HubError(
            ErrorCode.INVALID_TRANSITION,
            f"cannot {action.value.lower()} an organisation that is {current.value}",
        )
    return target


def check_reason(reason: str) -> str:
    """Every membership change needs a reason a person can read later."""
    cleaned = reason.strip()
    if not cleaned:
        raise HubError(ErrorCode.BAD_USER_INPUT, "a reason is required")
    if len(cleaned) > MAX_REASON:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"reason is longer than {MAX_REASON} characters")
    return cleaned


def check_scopes(kind: OrganizationKind, requested: list[str]) -> frozenset[str]:
    """Scopes a new client of an organisation of ``kind`` may be granted."""
    unknown = sorted(set(requested) - ALL_SCOPES)
    if unknown:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"unknown scopes: {', '.join(unknown)}")
    if not requested:
        raise HubError(ErrorCode.BAD_USER_INPUT, "at least one scope is required")
    above = sorted(set(requested) - SCOPE_CEILING[kind])
    if above:
        raise HubError(
            ErrorCode.BAD_USER_INPUT,
            f"an organisation of kind {kind.value} may not hold: {', '.join(above)}",
        )
    return frozenset(requested)


def check_country(code: str) -> str:
    """An ISO 3166-1 alpha-2 country code, upper case."""
    value = code.strip().upper()
    if len(value) != 2 or pycountry.countries.get(alpha_2=value) is None:
        raise HubError(ErrorCode.BAD_USER_INPUT, "country must be an ISO 3166-1 alpha-2 code")
    return value


def check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 2 <= len(cleaned) <= 200:
        raise HubError(ErrorCode.BAD_USER_INPUT, "name must be 2 to 200 characters")
    return cleaned


def check_client_steward(
    actor_organization_id: str | None, actor_is_coordinator: bool, client_organization_id: str
) -> None:
    """Only the organisation that owns a client may change its secret or keys.

    The coordinator runs membership but never holds a member's credentials, so it is told
    so (FORBIDDEN); any other organisation cannot tell the client exists (NOT_FOUND).
    """
    if actor_organization_id == client_organization_id:
        return
    if actor_is_coordinator:
        raise HubError(ErrorCode.FORBIDDEN, "the coordinator never holds a member's credentials")
    raise HubError(ErrorCode.NOT_FOUND, "client not found")


def request_country_key(text: str) -> str:
    """The country as a request's idempotency fingerprint holds it: its code when known, so
    that a retry naming the same country another way ("Thailand", then "TH") is the same
    request; otherwise the text itself (the request is refused on it anyway)."""
    found = find_place(text)
    return found.code if found is not None and found.is_country else text.strip().upper()


def check_request_country(text: str, field: str = "currentCountry") -> str:
    """The ISO 3166-1 alpha-2 code of the country a request names by code or by a name we
    know ("Thailand", "ថៃ"): requests record places the way services do. Membership stays
    stricter (``check_country``): an organisation registers with the code itself."""
    found = find_place(text)
    if found is None or not found.is_country:
        raise HubError(
            ErrorCode.BAD_USER_INPUT,
            f"{field} must be an ISO 3166-1 alpha-2 code or a country's name",
        )
    return found.code
