"""Members look each other up; only the coordinator and the member see its history and clients.

Also the federation entry points a supergraph router uses to reach organisations.
"""

from __future__ import annotations

import uuid

from tests.api.test_referral_queries import statements
from tests.network import RunningHub, unique

ORGANIZATIONS = """
query List($kind: OrganizationKind, $status: MembershipStatus) {
  organizations(kind: $kind, status: $status) { id name kind status }
}
"""
ORGANIZATION = "query One($id: ID!) { organization(id: $id) { id name kind country status } }"
INTERNALS = """
query Internals($id: ID!) {
  organization(id: $id) { name history { toStatus reason } clients { clientId } }
}
"""
ONLY_HISTORY = "query H($id: ID!) { organization(id: $id) { name history { toStatus } } }"
ONLY_CLIENTS = "query C($id: ID!) { organization(id: $id) { name clients { clientId } } }"
ENTITIES = """
query Entities($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on Organization { id name kind } }
}
"""


async def test_anyone_with_orgs_read_finds_the_three_embassies(hub: RunningHub) -> None:
    result = await hub.gql("ngo-thailand", ORGANIZATIONS, {"kind": "EMBASSY"})

    assert result.errors == [], result.body
    embassies = result.data["organizations"]
    assert {e["id"] for e in embassies} == {
        hub.members[key].organization_id
        for key in ("embassy-bangkok", "embassy-kuala-lumpur", "embassy-beijing")
    }
    assert {(e["kind"], e["status"]) for e in embassies} == {("EMBASSY", "ACTIVE")}


async def test_a_new_registration_is_listed_as_pending(hub: RunningHub) -> None:
    before = await hub.gql("secretariat", ORGANIZATIONS, {"status": "PENDING"})
    assert before.errors == [], before.body
    assert before.data["organizations"] == []
    name = unique("Vietnam Women's Union, Ho Chi Minh City")
    registered = await hub.gql(
        "secretariat",
        "mutation($input: RegisterOrganizationInput!) {"
        " registerOrganization(input: $input) { id } }",
        {"input": {"name": name, "kind": "INTERNATIONAL_ORG", "country": "VN"}},
    )
    assert registered.errors == [], registered.body

    after = await hub.gql("secretariat", ORGANIZATIONS, {"status": "PENDING"})

    assert after.errors == [], after.body
    assert after.data["organizations"] == [
        {
            "id": registered.data["registerOrganization"]["id"],
            "name": name,
            "kind": "INTERNATIONAL_ORG",
            "status": "PENDING",
        }
    ]
    # Filters combine: a pending international organisation is not an active one.
    both = await hub.gql(
        "secretariat", ORGANIZATIONS, {"kind": "INTERNATIONAL_ORG", "status": "ACTIVE"}
    )
    assert both.data["organizations"] == []


async def test_an_unknown_organisation_is_not_found(hub: RunningHub) -> None:
    result = await hub.gql("embassy-bangkok", ORGANIZATION, {"id": str(uuid.uuid4())})

    assert result.codes == ["NOT_FOUND"], result.body
    assert result.errors[0]["path"] == ["organization"]
    assert result.data == {"organization": None}


async def test_a_token_without_orgs_read_cannot_list_organisations(hub: RunningHub) -> None:
    token = await hub.token("ccpcr-shelter", scope="cases:read")
    adhoc = hub.members["adhoc"].organization_id

    listed = await hub.gql(None, ORGANIZATIONS, {}, token=token)
    one = await hub.gql(None, ORGANIZATION, {"id": adhoc}, token=token)

    assert listed.codes == ["FORBIDDEN"], listed.body
    assert listed.data is None
    assert one.codes == ["FORBIDDEN"], one.body
    assert one.data == {"organization": None}
    # The same shelter with a full token may.
    full = await hub.gql("ccpcr-shelter", ORGANIZATION, {"id": adhoc})
    assert full.errors == [], full.body
    assert full.data["organization"]["name"] == "ADHOC Legal Aid"


async def test_a_shelter_sees_its_own_history_and_clients(hub: RunningHub) -> None:
    shelter = hub.members["ccpcr-shelter"]

    result = await hub.gql("ccpcr-shelter", INTERNALS, {"id": shelter.organization_id})

    assert result.errors == [], result.body
    org = result.data["organization"]
    assert [h["toStatus"] for h in org["history"]] == ["PENDING", "ACTIVE"]
    assert org["clients"] == [{"clientId": shelter.client_id}]


async def test_a_shelter_cannot_see_another_members_history_or_clients(hub: RunningHub) -> None:
    adhoc = hub.members["adhoc"].organization_id
    for query, field in ((ONLY_HISTORY, "history"), (ONLY_CLIENTS, "clients")):
        result = await hub.gql("ccpcr-shelter", query, {"id": adhoc})

        assert result.codes == ["FORBIDDEN"], result.body
        assert result.errors[0]["path"] == ["organization", field]
        # A list that may not be shown nulls the organisation: nothing of it leaks.
        assert result.data == {"organization": None}
        assert hub.members["adhoc"].client_id not in str(result.body)

    # The public part of the same organisation stays visible.
    plain = await hub.gql("ccpcr-shelter", ORGANIZATION, {"id": adhoc})
    assert plain.errors == [], plain.body


async def test_an_embassy_cannot_see_the_secretariats_internals(hub: RunningHub) -> None:
    secretariat = hub.members["secretariat"].organization_id

    result = await hub.gql("embassy-beijing", INTERNALS, {"id": secretariat})

    # The first refused list nulls the organisation; graphql-core may drop the sibling's error.
    assert result.codes and set(result.codes) == {"FORBIDDEN"}, result.body
    assert {tuple(e["path"]) for e in result.errors} <= {
        ("organization", "clients"),
        ("organization", "history"),
    }
    assert result.data == {"organization": None}


async def test_the_coordinator_sees_every_members_history_and_clients(hub: RunningHub) -> None:
    embassy = hub.members["embassy-kuala-lumpur"]

    result = await hub.gql("secretariat", INTERNALS, {"id": embassy.organization_id})

    assert result.errors == [], result.body
    org = result.data["organization"]
    assert [h["reason"] for h in org["history"]] == [
        "registered",
        "founding member of the demo network",
    ]
    assert org["clients"] == [{"clientId": embassy.client_id}]


async def test_the_subgraph_publishes_a_federation_2_9_sdl(hub: RunningHub) -> None:
    result = await hub.gql("secretariat", "{ _service { sdl } }")

    assert result.errors == [], result.body
    sdl = result.data["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2.9"' in sdl
    assert 'type Organization @key(fields: "id")' in sdl
    assert "clientSecret: String!" in sdl  # only on the one-time ClientCredentials answer
    assert "secretHash" not in sdl and "secret_hash" not in sdl


async def test_a_router_resolves_organisations_by_key_with_orgs_read(hub: RunningHub) -> None:
    bangkok = hub.members["embassy-bangkok"]
    reps = [{"__typename": "Organization", "id": bangkok.organization_id}]

    result = await hub.gql("ngo-thailand", ENTITIES, {"reps": reps})

    assert result.errors == [], result.body
    assert result.data["_entities"] == [
        {"id": bangkok.organization_id, "name": bangkok.name, "kind": "EMBASSY"}
    ]
    inline = f"""{{ _entities(representations: [{{__typename: "Organization",
                   id: "{bangkok.organization_id}"}}]) {{ ... on Organization {{ name }} }} }}"""
    literal = await hub.gql("ngo-thailand", inline)
    assert literal.errors == [], literal.body
    assert literal.data["_entities"] == [{"name": bangkok.name}]


async def test_the_federation_entry_point_obeys_orgs_read(hub: RunningHub) -> None:
    token = await hub.token("ngo-thailand", scope="cases:read")
    reps = [{"__typename": "Organization", "id": hub.members["embassy-bangkok"].organization_id}]

    result = await hub.gql(None, ENTITIES, {"reps": reps}, token=token)

    assert result.codes == ["FORBIDDEN"], result.body
    assert "Royal Embassy" not in str(result.body)


async def test_an_unknown_entity_is_not_found(hub: RunningHub) -> None:
    reps = [{"__typename": "Organization", "id": str(uuid.uuid4())}]

    result = await hub.gql("ngo-thailand", ENTITIES, {"reps": reps})

    assert result.codes == ["NOT_FOUND"], result.body


async def test_a_gateway_resolving_many_organisations_costs_one_lookup(hub: RunningHub) -> None:
    members = list(hub.members.values())
    few = [{"__typename": "Organization", "id": m.organization_id} for m in members[:2]]
    many = [{"__typename": "Organization", "id": m.organization_id} for m in members]
    assert len(many) >= 10
    await hub.token("ngo-thailand")

    with statements(hub) as for_few:
        small = await hub.gql("ngo-thailand", ENTITIES, {"reps": few})
    with statements(hub) as for_many:
        large = await hub.gql("ngo-thailand", ENTITIES, {"reps": many})

    assert small.errors == [] and large.errors == [], (small.body, large.body)
    assert [e["id"] for e in large.data["_entities"]] == [m.organization_id for m in members]
    # (only the organisation lookups are counted: the event pump polls the same engine)
    lookups_few = [s for s in for_few if "FROM organizations" in s]
    lookups_many = [s for s in for_many if "FROM organizations" in s]
    assert len(lookups_many) == len(lookups_few) == 1, lookups_many
