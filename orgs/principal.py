"""Who is acting: one organisation, through one OAuth client, with scopes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an operation, resolved from a verified access token.

    ``organization_id`` is ``None`` only for the operator's own command line.
    """

    organization_id: str | None
    client_id: str | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    organization_kind: str | None = None
    token_id: str | None = None
    request_id: str | None = None
    expires_at: int | None = None  # the token's `exp`, seconds since the epoch
    # The person, when a staff member acts through the console (None for systems).
    staff_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def operator(request_id: str | None = None) -> Principal:
    """The person running the ``referral-hub`` command on the server itself."""
    return Principal(organization_id=None, client_id="cli", request_id=request_id)
