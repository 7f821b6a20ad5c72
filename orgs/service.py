"""Membership operations. Each one is one transaction: change, history, event, audit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.outbox import emit
from orgs.client_keys import check_public_jwks
from orgs.models import ApiClient, MembershipChange, Organization
from orgs.principal import Principal
from orgs.rules import (
    SCOPE_CEILING,
    MembershipAction,
    MembershipStatus,
    OrganizationKind,
    check_client_steward,
    check_country,
    check_name,
    check_reason,
    check_scopes,
    next_status,
)
from store.audit import record_audit
from store.engine import Database
from store.errors import ErrorCode, HubError, not_found
from store.reads import RequestReads, reads_of
from store.types import utcnow

_ACTION_EVENT = {
    MembershipAction.ACTIVATE: "ORGANIZATION_ACTIVATED",
    MembershipAction.SUSPEND: "ORGANIZATION_SUSPENDED",
    MembershipAction.REINSTATE: "ORGANIZATION_REINSTATED",
    MembershipAction.REVOKE: "MEMBERSHIP_REVOKED",
}


@dataclass(frozen=True, slots=True)
class NewOrganization:
    name: str
    kind: OrganizationKind
    country: str
    areas_served: Sequence[str] = ()
    contact_email: str | None = None
    contact_phone: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """A client and its secret. The secret exists only here: the hub keeps a hash."""

    client: ApiClient
    client_secret: str


def hash_secret(secret: str) -> str:
    """Client secrets are 256-bit random values, so a plain SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: ApiClient, secret: str) -> bool:
    if client.secret_hash is None:
        return False
    return hmac.compare_digest(client.secret_hash, hash_secret(secret))


def _require_admin(actor: Principal) -> None:
    if actor.organization_id is not None and not actor.has("network:admin"):
        raise HubError(ErrorCode.FORBIDDEN, "only a network coordinator may manage membership")


async def _coordinator_ids(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(Organization.id).where(
            Organization.kind == OrganizationKind.COORDINATOR,
            Organization.status == MembershipStatus.ACTIVE,
        )
    )
    return list(rows)


async def _record(
    session: AsyncSession,
    actor: Principal,
    *,
    event_type: str,
    action: str,
    subject_type: str,
    subject_id: str,
    organization_id: str,
    detail: dict[str, Any],
) -> None:
    """The event and the audit entry that go with every membership change."""
    audience = [organization_id, *await _coordinator_ids(session)]
    await emit(
        session,
        topic="ORGANIZATION",
        type=event_type,
        subject_id=subject_id,
        actor_organization_id=actor.organization_id,
        audience=audience,
        payload={"organizationId": organization_id, **detail},
    )
    await record_audit(
        session,
        actor_organization_id=actor.organization_id,
        actor_client_id=actor.client_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
        request_id=actor.request_id,
    )


def _clean_optional(value: str | None, limit: int, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise HubError(ErrorCode.BAD_USER_INPUT, f"{field} is longer than {limit} characters")
    return value or None


async def register_organization(
    db: Database, actor: Principal, new: NewOrganization
) -> Organization:
    """Register an organisation as PENDING; a coordinator activates it later."""
    _require_admin(actor)
    name = check_name(new.name)
    country = check_country(new.country)
    areas = [a.strip() for a in new.areas_served if a.strip()]
    if len(areas) > 100 or any(len(a) > 100 for a in areas):
        raise HubError(ErrorCode.BAD_USER_INPUT, "at most 100 areas of up to 100 characters")
    email = _clean_optional(new.contact_email, 254, "contactEmail")
    if email is not None and "@" not in email:
        raise HubError(ErrorCode.BAD_USER_INPUT, "contactEmail is not an email address")
    now = utcnow()
    org = Organization(
        id=str(uuid.uuid4()),
        name=name,
        kind=new.kind.value,
        country=country,
        areas_served=areas,
        contact_email=email,
        contact_phone=_clean_optional(new.contact_phone, 40, "contactPhone"),
        website=_clean_optional(new.website, 300, "website"),
        status=MembershipStatus.PENDING.value,
        version=1,
        created_at=now,
        updated_at=now,
    )
    async with db.write() as session:
        taken = await session.scalar(select(Organization.id).where(Organization.name == name))
        if taken is not None:
            raise HubError(ErrorCode.CONFLICT, "an organisation with this name already exists")
        session.add(org)
        await session.flush()
        session.add(
            MembershipChange(
                organization_id=org.id,
                from_status=None,
                to_status=org.status,
                reason="registered",
                by_organization_id=actor.organization_id,
                by_client_id=actor.client_id,
                at=now,
            )
        )
        await session.flush()
        await _record(
            session,
            actor,
            event_type="ORGANIZATION_REGISTERED",
            action="organization.register",
            subject_type="Organization",
            subject_id=org.id,
            organization_id=org.id,
            detail={"kind": org.kind, "status": org.status},
        )
    return org


async def change_membership(
    db: Database,
    actor: Principal,
    organization_id: str,
    action: MembershipAction,
    reason: str,
    expected_version: int | None = None,
) -> Organization:
    """Activate, suspend, reinstate or revoke a member, with a reason kept in its history."""
    _require_admin(actor)
    why = check_reason(reason)
    if organization_id == actor.organization_id and action in (
        MembershipAction.SUSPEND,
        MembershipAction.REVOKE,
    ):
        raise HubError(ErrorCode.FORBIDDEN, "a coordinator cannot suspend or revoke itself")
    async with db.write() as session:
        org = await session.get(Organization, organization_id)
        if org is None:
            raise not_found("organization")
        if expected_version is not None and expected_version != org.version:
            raise HubError(ErrorCode.CONFLICT, "the organisation was changed by someone else")
        current = MembershipStatus(org.status)
        target = next_status(current, action)
        now = utcnow()
        # Compare-and-set on the version: of two concurrent changes exactly one wins.
        values: dict[str, Any] = {
            "status": target.value,
            "version": org.version + 1,
            "updated_at": now,
        }
        if target in (MembershipStatus.SUSPENDED, MembershipStatus.REVOKED):
            values["tokens_valid_after"] = now
        result = await session.execute(
            update(Organization)
            .where(Organization.id == org.id, Organization.version == org.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise HubError(ErrorCode.CONFLICT, "the organisation was changed by someone else")
        session.add(
            MembershipChange(
                organization_id=org.id,
                from_status=current.value,
                to_status=target.value,
                reason=why,
                by_organization_id=actor.organization_id,
                by_client_id=actor.client_id,
                at=now,
            )
        )
        await _record(
            session,
            actor,
            event_type=_ACTION_EVENT[action],
            action=f"organization.{action.value.lower()}",
            subject_type="Organization",
            subject_id=org.id,
            organization_id=org.id,
            detail={"from": current.value, "to": target.value, "reason": why},
        )
        await session.refresh(org)
    return org


async def create_client(
    db: Database, actor: Principal, organization_id: str, name: str, scopes: list[str]
) -> IssuedCredentials:
    """A new API client, its secret returned once and stored hashed.

    Through the API a coordinator creates clients for its own organisation only: members
    register theirs themselves (``orgs.registration``). The operator's command line and
    the demo fixture (no organisation) may seed a client for anyone.
    """
    _require_admin(actor)
    if actor.organization_id is not None and actor.organization_id != organization_id:
        raise HubError(
            ErrorCode.FORBIDDEN,
            "the coordinator never holds a member's credentials: issue a registration token",
        )
    label = check_name(name)
    async with db.write() as session:
        org = await session.get(Organization, organization_id)
        if org is None:
            raise not_found("organization")
        if org.status == MembershipStatus.REVOKED:
            raise HubError(ErrorCode.INVALID_TRANSITION, "the organisation's membership is revoked")
        granted = check_scopes(OrganizationKind(org.kind), scopes)
        secret = "rhs_" + secrets.token_urlsafe(32)
        client = ApiClient(
            client_id="rh_" + secrets.token_urlsafe(12),
            organization_id=org.id,
            name=label,
            scopes=" ".join(sorted(granted)),
            secret_hash=hash_secret(secret),
            jwks=None,
            enabled=True,
            created_at=utcnow(),
        )
        session.add(client)
        await session.flush()
        await _record(
            session,
            actor,
            event_type="CLIENT_CREATED",
            action="client.create",
            subject_type="ApiClient",
            subject_id=client.client_id,
            organization_id=org.id,
            detail={"clientId": client.client_id, "scopes": client.scopes},
        )
    return IssuedCredentials(client=client, client_secret=secret)


async def _load_client(session: AsyncSession, client_id: str) -> ApiClient:
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise not_found("client")
    return client


async def _load_own_client(session: AsyncSession, actor: Principal, client_id: str) -> ApiClient:
    """A client of the actor's own organisation, for changes to its credentials."""
    client = await _load_client(session, client_id)
    check_client_steward(
        actor.organization_id,
        actor.organization_kind == OrganizationKind.COORDINATOR or actor.has("network:admin"),
        client.organization_id,
    )
    return client


async def rotate_client_secret(db: Database, actor: Principal, client_id: str) -> IssuedCredentials:
    """Replace a client's secret; the old one stops working at once. Owner only."""
    async with db.write() as session:
        client = await _load_own_client(session, actor, client_id)
        if not client.enabled:
            raise HubError(ErrorCode.INVALID_TRANSITION, "the client is disabled")
        secret = "rhs_" + secrets.token_urlsafe(32)
        client.secret_hash = hash_secret(secret)
        client.secret_rotated_at = utcnow()
        await _record(
            session,
            actor,
            event_type="CLIENT_SECRET_ROTATED",
            action="client.rotate_secret",
            subject_type="ApiClient",
            subject_id=client.client_id,
            organization_id=client.organization_id,
            detail={"clientId": client.client_id},
        )
    return IssuedCredentials(client=client, client_secret=secret)


async def disable_client(db: Database, actor: Principal, client_id: str) -> ApiClient:
    """Disable (revoke) a client: no new tokens, and its live tokens stop working.

    The coordinator may disable any client (membership is its job); a member holding
    ``clients:manage`` may disable its own, and no other organisation's (NOT_FOUND).
    """
    async with db.write() as session:
        if actor.organization_id is None or actor.has("network:admin"):
            client = await _load_client(session, client_id)
        elif actor.has("clients:manage"):
            client = await _load_own_client(session, actor, client_id)
        else:
            raise HubError(ErrorCode.FORBIDDEN, "this operation needs the 'clients:manage' scope")
        if not client.enabled:
            raise HubError(ErrorCode.INVALID_TRANSITION, "the client is already disabled")
        client.enabled = False
        client.disabled_at = utcnow()
        client.tokens_valid_after = client.disabled_at
        await _record(
            session,
            actor,
            event_type="CLIENT_DISABLED",
            action="client.disable",
            subject_type="ApiClient",
            subject_id=client.client_id,
            organization_id=client.organization_id,
            detail={"clientId": client.client_id},
        )
    return client


async def register_client_keys(
    db: Database, actor: Principal, client_id: str, jwks: dict[str, Any]
) -> ApiClient:
    """Register the public keys a client signs its ``private_key_jwt`` assertions with.

    Only the client's own organisation may: whoever sets the keys can act as the client.
    """
    checked = check_public_jwks(jwks)
    async with db.write() as session:
        client = await _load_own_client(session, actor, client_id)
        if not client.enabled:
            raise HubError(ErrorCode.INVALID_TRANSITION, "the client is disabled")
        client.jwks = checked
        await _record(
            session,
            actor,
            event_type="CLIENT_KEYS_REGISTERED",
            action="client.register_keys",
            subject_type="ApiClient",
            subject_id=client.client_id,
            organization_id=client.organization_id,
            detail={"clientId": client.client_id, "kids": [k.get("kid") for k in checked["keys"]]},
        )
    return client


async def get_organization(db: Database, organization_id: str) -> Organization | None:
    async with db.read() as session:
        return await session.get(Organization, organization_id)


async def list_organizations(
    db: Database, kind: OrganizationKind | None = None, status: MembershipStatus | None = None
) -> list[Organization]:
    query = select(Organization).order_by(Organization.name)
    if kind is not None:
        query = query.where(Organization.kind == kind.value)
    if status is not None:
        query = query.where(Organization.status == status.value)
    async with db.read() as session:
        return list(await session.scalars(query))


async def membership_history(
    db: Database, organization_ids: Sequence[str]
) -> dict[str, list[MembershipChange]]:
    """History of each organisation, oldest first, in one query."""
    result: dict[str, list[MembershipChange]] = {oid: [] for oid in organization_ids}
    async with db.read() as session:
        rows = await session.scalars(
            select(MembershipChange)
            .where(MembershipChange.organization_id.in_(list(organization_ids)))
            .order_by(MembershipChange.id)
        )
        for row in rows:
            result[row.organization_id].append(row)
    return result


async def list_clients(db: Database, organization_ids: Sequence[str]) -> dict[str, list[ApiClient]]:
    result: dict[str, list[ApiClient]] = {oid: [] for oid in organization_ids}
    async with db.read() as session:
        rows = await session.scalars(
            select(ApiClient)
            .where(ApiClient.organization_id.in_(list(organization_ids)))
            .order_by(ApiClient.created_at)
        )
        for row in rows:
            result[row.organization_id].append(row)
    return result


def scope_ceiling(kind: OrganizationKind) -> frozenset[str]:
    return SCOPE_CEILING[kind]


async def organizations_by_id(
    db: Database, ids: Sequence[str], reads: RequestReads | None = None
) -> dict[str, Organization]:
    """Organisations by id; with ``reads``, in the request's read transaction."""
    async with reads_of(db, reads).session() as session:
        rows = await session.scalars(select(Organization).where(Organization.id.in_(list(ids))))
        return {row.id: row for row in rows}
