"""Organisations, membership and API clients in GraphQL: translation only."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from orgs import registration, service
from orgs.models import ApiClient as ApiClientRow
from orgs.models import MembershipChange as MembershipChangeRow
from orgs.models import Organization as OrganizationRow
from orgs.registration_rules import DEFAULT_TOKEN_HOURS
from orgs.rules import MembershipAction, MembershipStatus, OrganizationKind
from schema.context import HubContext
from schema.permissions import requires, requires_any
from store.errors import ErrorCode, HubError, not_found

# Registers the domain enums with GraphQL under the same names; the classes stay the same.
strawberry.enum(OrganizationKind, name="OrganizationKind")
strawberry.enum(MembershipStatus, name="MembershipStatus")


def _may_see_internals(info: Info[HubContext, None], organization_id: str) -> bool:
    actor = info.context.actor
    return actor.has("network:admin") or actor.organization_id == organization_id


@strawberry.type(description="One change of an organisation's membership status.")
class MembershipChange:
    from_status: MembershipStatus | None
    to_status: MembershipStatus
    reason: str
    by_organization_id: strawberry.ID | None
    at: datetime

    @classmethod
    def from_row(cls, row: MembershipChangeRow) -> Self:
        return cls(
            from_status=MembershipStatus(row.from_status) if row.from_status else None,
            to_status=MembershipStatus(row.to_status),
            reason=row.reason,
            by_organization_id=strawberry.ID(row.by_organization_id)
            if row.by_organization_id
            else None,
            at=row.at,
        )


@strawberry.type(description="An OAuth client acting for an organisation. Never shows a secret.")
class ApiClient:
    client_id: str
    organization_id: strawberry.ID
    name: str
    scopes: list[str]
    enabled: bool
    token_endpoint_auth_methods: list[str]
    created_at: datetime
    secret_rotated_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiClientRow) -> Self:
        methods = []
        if row.secret_hash:
            methods += ["client_secret_basic", "client_secret_post"]
        if row.jwks:
            methods.append("private_key_jwt")
        return cls(
            client_id=row.client_id,
            organization_id=strawberry.ID(row.organization_id),
            name=row.name,
            scopes=row.scopes.split(),
            enabled=row.enabled,
            token_endpoint_auth_methods=methods,
            created_at=row.created_at,
            secret_rotated_at=row.secret_rotated_at,
        )


@strawberry.federation.type(keys=["id"], description="A member organisation of the network.")
class Organization:
    id: strawberry.ID
    name: str
    kind: OrganizationKind
    country: str
    areas_served: list[str]
    contact_email: str | None
    contact_phone: str | None
    website: str | None
    status: MembershipStatus
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            kind=OrganizationKind(row.kind),
            country=row.country,
            areas_served=list(row.areas_served or []),
            contact_email=row.contact_email,
            contact_phone=row.contact_phone,
            website=row.website,
            status=MembershipStatus(row.status),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info[HubContext, None], id: strawberry.ID) -> Self:
        # The federation entry point obeys the same scope as `organization(id)`.
        if not info.context.actor.has("orgs:read"):
            raise HubError(ErrorCode.FORBIDDEN, "this operation needs the 'orgs:read' scope")
        # A gateway asks for many entities in one `_entities` call: one query for all.
        row = await info.context.loaders.organizations.load(str(id))
        if row is None:
            raise not_found("organization")
        return cls.from_row(row)

    @strawberry.field(description="Membership history, oldest first. Coordinators and the member.")
    async def history(self, info: Info[HubContext, None]) -> list[MembershipChange]:
        if not _may_see_internals(info, str(self.id)):
            raise HubError(ErrorCode.FORBIDDEN, "only coordinators and the member see its history")
        rows = await info.context.loaders.membership_history.load(str(self.id))
        return [MembershipChange.from_row(row) for row in rows]

    @strawberry.field(description="API clients of this organisation. Coordinators and the member.")
    async def clients(self, info: Info[HubContext, None]) -> list[ApiClient]:
        if not _may_see_internals(info, str(self.id)):
            raise HubError(ErrorCode.FORBIDDEN, "only coordinators and the member see its clients")
        rows = await info.context.loaders.clients.load(str(self.id))
        return [ApiClient.from_row(row) for row in rows]


@strawberry.type(description="Who is calling: the token's organisation, client and scopes.")
class Viewer:
    organization: Organization
    client_id: str
    scopes: list[str]


@strawberry.type(description="A client with its secret. The secret is shown this once only.")
class ClientCredentials:
    client_id: str
    client_secret: str
    client: ApiClient


@strawberry.type(
    description="An initial access token for /oauth/register (RFC 7591). Shown this once only."
)
class RegistrationTokenIssued:
    token: str = strawberry.field(
        description="Hand it to the member; it registers one client of its own with it."
    )
    token_id: strawberry.ID
    organization_id: strawberry.ID
    expires_at: datetime


@strawberry.input
class RegisterOrganizationInput:
    name: str
    kind: OrganizationKind
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. KH, TH, MY.")
    areas_served: list[str] = strawberry.field(default_factory=list)
    contact_email: str | None = strawberry.field(
        default=None, description="An organisational address, never a person's private one."
    )
    contact_phone: str | None = None
    website: str | None = None


@strawberry.input
class CreateClientInput:
    organization_id: strawberry.ID
    name: str
    scopes: list[str]


@strawberry.type
class OrganizationQueries:
    @strawberry.field
    async def viewer(self, info: Info[HubContext, None]) -> Viewer:
        actor = info.context.actor
        assert actor.organization_id is not None and actor.client_id is not None
        row = await service.get_organization(info.context.db, actor.organization_id)
        if row is None:
            raise not_found("organization")
        return Viewer(
            organization=Organization.from_row(row),
            client_id=actor.client_id,
            scopes=sorted(actor.scopes),
        )

    @strawberry.field(permission_classes=[requires("orgs:read")])
    async def organizations(
        self,
        info: Info[HubContext, None],
        kind: OrganizationKind | None = None,
        status: MembershipStatus | None = None,
    ) -> list[Organization]:
        rows = await service.list_organizations(info.context.db, kind, status)
        return [Organization.from_row(row) for row in rows]

    @strawberry.field(permission_classes=[requires("orgs:read")])
    async def organization(
        self, info: Info[HubContext, None], id: strawberry.ID
    ) -> Organization | None:
        row = await service.get_organization(info.context.db, str(id))
        if row is None:
            raise not_found("organization")
        return Organization.from_row(row)


async def _change(
    info: Info[HubContext, None],
    id: strawberry.ID,
    action: MembershipAction,
    reason: str,
    expected_version: int | None,
) -> Organization:
    row = await service.change_membership(
        info.context.db, info.context.actor, str(id), action, reason, expected_version
    )
    return Organization.from_row(row)


_ADMIN = [requires("network:admin")]
_MANAGE = [requires("clients:manage")]


@strawberry.type
class OrganizationMutations:
    @strawberry.mutation(permission_classes=_ADMIN)
    async def register_organization(
        self, info: Info[HubContext, None], input: RegisterOrganizationInput
    ) -> Organization:
        row = await service.register_organization(
            info.context.db,
            info.context.actor,
            service.NewOrganization(
                name=input.name,
                kind=input.kind,
                country=input.country,
                areas_served=input.areas_served,
                contact_email=input.contact_email,
                contact_phone=input.contact_phone,
                website=input.website,
            ),
        )
        return Organization.from_row(row)

    @strawberry.mutation(permission_classes=_ADMIN)
    async def activate_organization(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
    ) -> Organization:
        return await _change(info, id, MembershipAction.ACTIVATE, reason, expected_version)

    @strawberry.mutation(permission_classes=_ADMIN)
    async def suspend_organization(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
    ) -> Organization:
        return await _change(info, id, MembershipAction.SUSPEND, reason, expected_version)

    @strawberry.mutation(permission_classes=_ADMIN)
    async def reinstate_organization(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
    ) -> Organization:
        return await _change(info, id, MembershipAction.REINSTATE, reason, expected_version)

    @strawberry.mutation(permission_classes=_ADMIN)
    async def revoke_membership(
        self,
        info: Info[HubContext, None],
        id: strawberry.ID,
        reason: str,
        expected_version: int | None = None,
    ) -> Organization:
        return await _change(info, id, MembershipAction.REVOKE, reason, expected_version)

    @strawberry.mutation(
        permission_classes=_ADMIN,
        description="A single-use, expiring token with which the member registers its own "
        "client at /oauth/register. The coordinator never sees that client's secret.",
    )
    async def issue_registration_token(
        self,
        info: Info[HubContext, None],
        organization_id: strawberry.ID,
        expires_in_hours: int = DEFAULT_TOKEN_HOURS,
    ) -> RegistrationTokenIssued:
        issued = await registration.issue_registration_token(
            info.context.db, info.context.actor, str(organization_id), expires_in_hours
        )
        return RegistrationTokenIssued(
            token=issued.token,
            token_id=strawberry.ID(issued.row.id),
            organization_id=strawberry.ID(issued.row.organization_id),
            expires_at=issued.row.expires_at,
        )

    @strawberry.mutation(
        permission_classes=_ADMIN,
        description="A client for the coordinator's own organisation (members register theirs).",
    )
    async def create_client(
        self, info: Info[HubContext, None], input: CreateClientInput
    ) -> ClientCredentials:
        issued = await service.create_client(
            info.context.db,
            info.context.actor,
            str(input.organization_id),
            input.name,
            input.scopes,
        )
        return ClientCredentials(
            client_id=issued.client.client_id,
            client_secret=issued.client_secret,
            client=ApiClient.from_row(issued.client),
        )

    @strawberry.mutation(
        permission_classes=_MANAGE,
        description="A new secret for a client of the caller's own organisation, shown once.",
    )
    async def rotate_client_secret(
        self, info: Info[HubContext, None], client_id: str
    ) -> ClientCredentials:
        issued = await service.rotate_client_secret(info.context.db, info.context.actor, client_id)
        return ClientCredentials(
            client_id=issued.client.client_id,
            client_secret=issued.client_secret,
            client=ApiClient.from_row(issued.client),
        )

    @strawberry.mutation(
        permission_classes=[requires_any("network:admin", "clients:manage")],
        description="Revoke a client: the coordinator any, a member its own.",
    )
    async def disable_client(self, info: Info[HubContext, None], client_id: str) -> ApiClient:
        row = await service.disable_client(info.context.db, info.context.actor, client_id)
        return ApiClient.from_row(row)

    @strawberry.mutation(
        permission_classes=_MANAGE,
        description="Register the public keys (a JWKS) a client of the caller's own "
        "organisation signs private_key_jwt with.",
    )
    async def register_client_keys(
        self, info: Info[HubContext, None], client_id: str, jwks: JSON
    ) -> ApiClient:
        value: Any = jwks
        row = await service.register_client_keys(
            info.context.db, info.context.actor, client_id, value
        )
        return ApiClient.from_row(row)
