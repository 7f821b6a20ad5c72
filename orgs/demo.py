"""The demo network: the organisations of a small counter-trafficking referral network."""

from __future__ import annotations

from dataclasses import dataclass

from orgs import directory, service
from orgs.directory import CapacityStatus, OfferInput
from orgs.principal import operator
from orgs.rules import SCOPE_CEILING, MembershipAction, OrganizationKind, ServiceCategory
from store.engine import Database

K = OrganizationKind

# (short name used in tests and docs, full name, kind, country, areas served)
DEMO_NETWORK: list[tuple[str, str, OrganizationKind, str, list[str]]] = [
    ("secretariat", "Network Coordination Secretariat", K.COORDINATOR, "KH", ["KH"]),
    ("ccpcr-koh-kong", "CCPCR Transit Centre Koh Kong", K.SERVICE_PROVIDER, "KH", ["Koh Kong"]),
    (
        "ccpcr-svay-rieng",
        "CCPCR Transit Centre Svay Rieng",
        K.SERVICE_PROVIDER,
        "KH",
        ["Svay Rieng"],
    ),
    (
        "ccpcr-shelter",
        "CCPCR Shelter Phnom Penh",
        K.SERVICE_PROVIDER,
        "KH",
        ["Phnom Penh", "Kandal"],
    ),
    ("adhoc", "ADHOC Legal Aid", K.LEGAL_AID, "KH", ["KH"]),
    ("mosavy", "Ministry of Social Affairs (reception)", K.GOVERNMENT, "KH", ["KH"]),
    ("embassy-bangkok", "Royal Embassy of Cambodia, Bangkok", K.EMBASSY, "TH", ["TH"]),
    ("embassy-kuala-lumpur", "Embassy of Cambodia, Kuala Lumpur", K.EMBASSY, "MY", ["MY"]),
    ("embassy-beijing", "Embassy of Cambodia, Beijing", K.EMBASSY, "CN", ["CN"]),
    (
        "ngo-thailand",
        "Partner NGO Thailand (demo)",
        K.DESTINATION_NGO,
        "TH",
        ["Bangkok", "Songkhla"],
    ),
    ("ngo-malaysia", "Partner NGO Malaysia (demo)", K.DESTINATION_NGO, "MY", ["Kuala Lumpur"]),
]


SC = ServiceCategory
ACCEPTING, WAITLIST = CapacityStatus.ACCEPTING, CapacityStatus.WAITLIST

# What each demo member offers: (category, capacity status, available, maximum).
DEMO_SERVICES: dict[str, list[tuple[ServiceCategory, CapacityStatus, int | None, int | None]]] = {
    "ccpcr-koh-kong": [
        (SC.EMERGENCY_SUPPORT, ACCEPTING, 6, 20),
        (SC.MEDICAL, ACCEPTING, None, None),
    ],
    "ccpcr-svay-rieng": [(SC.EMERGENCY_SUPPORT, ACCEPTING, 4, 15)],
    "ccpcr-shelter": [
        (SC.SHELTER, WAITLIST, 0, 40),
        (SC.PSYCHOSOCIAL, ACCEPTING, 5, 30),
        (SC.VOCATIONAL_TRAINING, ACCEPTING, 10, 25),
        (SC.EDUCATION, ACCEPTING, 8, 20),
    ],
    "adhoc": [(SC.LEGAL_AID, ACCEPTING, 12, 50)],
    "mosavy": [
        (SC.FAMILY_TRACING, ACCEPTING, None, None),
        (SC.REINTEGRATION_FOLLOW_UP, ACCEPTING, None, None),
        (SC.LIVELIHOOD_GRANT, ACCEPTING, 20, 100),
    ],
    "embassy-bangkok": [(SC.REPATRIATION_ASSISTANCE, ACCEPTING, None, None)],
    "embassy-kuala-lumpur": [(SC.REPATRIATION_ASSISTANCE, ACCEPTING, None, None)],
    "embassy-beijing": [(SC.REPATRIATION_ASSISTANCE, ACCEPTING, None, None)],
    "ngo-thailand": [(SC.SHELTER, ACCEPTING, 3, 12), (SC.LEGAL_AID, ACCEPTING, 5, 10)],
    "ngo-malaysia": [(SC.SHELTER, ACCEPTING, 2, 8), (SC.MEDICAL, ACCEPTING, None, None)],
}


@dataclass(frozen=True, slots=True)
class DemoMember:
    key: str
    name: str
    kind: OrganizationKind
    organization_id: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


async def seed_demo_network(db: Database) -> dict[str, DemoMember]:
    """Register, activate and give a client to every demo member. Returns them by key."""
    actor = operator()
    members: dict[str, DemoMember] = {}
    for key, name, kind, country, areas in DEMO_NETWORK:
        org = await service.register_organization(
            db,
            actor,
            service.NewOrganization(name=name, kind=kind, country=country, areas_served=areas),
        )
        await service.change_membership(
            db, actor, org.id, MembershipAction.ACTIVATE, "founding member of the demo network"
        )
        scopes = sorted(SCOPE_CEILING[kind])
        issued = await service.create_client(db, actor, org.id, f"{name} case system", scopes)
        for category, status, available, maximum in DEMO_SERVICES.get(key, []):
            await directory.publish_service(
                db,
                actor,
                org.id,
                OfferInput(
                    category=category,
                    areas_served=areas,
                    capacity_status=status,
                    available=available,
                    maximum=maximum,
                ),
            )
        members[key] = DemoMember(
            key=key,
            name=name,
            kind=kind,
            organization_id=org.id,
            client_id=issued.client.client_id,
            client_secret=issued.client_secret,
            scopes=tuple(scopes),
        )
    return members
