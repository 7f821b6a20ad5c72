"""Onboarding without handing over keys: initial access tokens and self-registration.

A coordinator issues a single-use, expiring initial access token for one organisation
(RFC 7591 §3); the member presents it at ``/oauth/register`` and registers a client of its
own. The hub keeps only hashes, so the coordinator never sees the member's secret, and
a member's keys can only be changed by the member's own client.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ApiClient, Organization, RegistrationToken
from orgs.principal import Principal
from orgs.registration_rules import (
    ClientRegistration,
    check_registration,
    registration_token_lifetime,
)
from orgs.rules import MembershipStatus, OrganizationKind
from orgs.service import _record, _require_admin, hash_secret
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.types import utcnow

TOKEN_PREFIX = "rhr_"  # noqa: S105 - a prefix that marks the kind of token, not a secret


@dataclass(frozen=True, slots=True)
class IssuedRegistrationToken:
    """The token exists only here; the hub keeps its hash."""

    token: str
    row: RegistrationToken


@dataclass(frozen=True, slots=True)
class RegistrationGrant:
    """What a presented initial access token allows: registering one client for one member."""

    token_hash: str
    organization_id: str
    organization_kind: OrganizationKind


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client: ApiClient
    client_secret: str | None


async def issue_registration_token(
    db: Database, actor: Principal, organization_id: str, lifetime_hours: int
) -> IssuedRegistrationToken:
    """A coordinator lets one organisation register one client of its own."""
    _require_admin(actor)
    lifetime = registration_token_lifetime(lifetime_hours)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    async with db.write() as session:
        org = await session.get(Organization, organization_id)
        if org is None:
            raise not_found("organization")
        if org.status == MembershipStatus.REVOKED:
            raise HubError(ErrorCode.INVALID_TRANSITION, "the organisation's membership is revoked")
        row = RegistrationToken(
            id=str(uuid.uuid4()),
            organization_id=org.id,
            token_hash=hash_secret(token),
            issued_by_organization_id=actor.organization_id,
            issued_by_client_id=actor.client_id,
            created_at=now,
            expires_at=now + lifetime,
        )
        session.add(row)
        await session.flush()
        await _record(
            session,
            actor,
            event_type="REGISTRATION_TOKEN_ISSUED",
            action="client.registration_token.issue",
            subject_type="RegistrationToken",
            subject_id=row.id,
            organization_id=org.id,
            detail={"tokenId": row.id, "expiresAt": row.expires_at.isoformat()},
        )
    return IssuedRegistrationToken(token=token, row=row)


async def registration_grant(db: Database, token: str) -> RegistrationGrant | None:
    """The grant of a presented token, or ``None`` if unknown, used, expired or not ACTIVE.

    All four look the same to the caller, so the endpoint is no oracle for tokens.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_secret(token)
    async with db.read() as session:
        found = (
            await session.execute(
                select(RegistrationToken, Organization)
                .join(Organization, Organization.id == RegistrationToken.organization_id)
                .where(RegistrationToken.token_hash == digest)
            )
        ).first()
    if found is None:
        return None
    row, org = found
    if row.used_at is not None or row.expires_at <= utcnow():
        return None
    if org.status != MembershipStatus.ACTIVE:
        return None
    return RegistrationGrant(digest, org.id, OrganizationKind(org.kind))


async def _consume(session: AsyncSession, grant: RegistrationGrant, client_id: str) -> str:
    """Mark the token used; of two registrations racing with one token exactly one wins."""
    now = utcnow()
    result = await session.execute(
        update(RegistrationToken)
        .where(
            RegistrationToken.token_hash == grant.token_hash,
            RegistrationToken.used_at.is_(None),
            RegistrationToken.expires_at > now,
        )
        .values(used_at=now, client_id=client_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise HubError(ErrorCode.UNAUTHENTICATED, "the registration token is not valid")
    token_id = await session.scalar(
        select(RegistrationToken.id).where(RegistrationToken.token_hash == grant.token_hash)
    )
    assert token_id is not None
    return token_id


async def register_client(
    db: Database,
    grant: RegistrationGrant,
    registration: ClientRegistration,
    client_id: str,
    client_secret: str | None,
    issued_at: datetime | None = None,
) -> ApiClient:
    """Create the member's own client and use up the token, in one transaction."""
    async with db.write() as session:
        token_id = await _consume(session, grant, client_id)
        org = await session.get(Organization, grant.organization_id)
        if org is None or org.status != MembershipStatus.ACTIVE:
            raise HubError(ErrorCode.UNAUTHENTICATED, "the registration token is not valid")
        # The kind cannot change, but the check is cheap and keeps the ceiling in one place.
        checked = check_registration(
            OrganizationKind(org.kind),
            {
                "scope": " ".join(sorted(registration.scopes)),
                "client_name": registration.name,
                "token_endpoint_auth_method": registration.auth_method,
                **({"jwks": registration.jwks} if registration.jwks else {}),
            },
        )
        client = ApiClient(
            client_id=client_id,
            organization_id=org.id,
            name=checked.name,
            scopes=" ".join(sorted(checked.scopes)),
            secret_hash=hash_secret(client_secret) if client_secret else None,
            jwks=checked.jwks,
            enabled=True,
            created_at=issued_at or utcnow(),
        )
        session.add(client)
        await session.flush()
        # The member registered it: the audit names the member and its new client.
        member = Principal(organization_id=org.id, client_id=client_id)
        await _record(
            session,
            member,
            event_type="CLIENT_REGISTERED",
            action="client.register",
            subject_type="ApiClient",
            subject_id=client_id,
            organization_id=org.id,
            detail={
                "clientId": client_id,
                "scopes": client.scopes,
                "tokenEndpointAuthMethod": checked.auth_method,
                "registrationTokenId": token_id,
            },
        )
    return client
