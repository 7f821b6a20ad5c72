"""Three fishermen from one Thai trawler: ADHOC holds two of their cases, the partner NGO in
Thailand the third. They are linked as one group, each case by its owner; each organisation
sees the group and, of its cases, only what the case filter gives it; the two of ADHOC's
whose consent covers it go home together on one travel plan, the other is left out alone."""

from __future__ import annotations

from typing import Any

from tests.api.intervention_support import person_abroad
from tests.api.repatriation_support import CONSENT, do, fetch, orgs
from tests.marker_watch import planted
from tests.network import GraphQLResult, RunningHub

CREATE_GROUP = """
mutation($input: CreateIncidentGroupInput!) {
  createIncidentGroup(input: $input) { id reference kind country createdBy memberIds size }
}"""
ADD = """
mutation($g: ID!, $c: ID!) { addCaseToGroup(groupId: $g, caseId: $c) { id size } }"""
GROUP = """
query($id: ID!) {
  incidentGroup(id: $id) {
    id kind country size memberIds
    cases { id status fullName healthNotes withheld { field reason } }
  }
}"""
GROUPS = "query { incidentGroups(first: 10) { edges { node { id size } } } }"
REQUEST_GROUP = """
mutation($input: RequestGroupRepatriationInput!) {
  requestGroupRepatriation(input: $input) {
    groupRepatriation { id groupId embassyId receptionId requests { id caseId status } }
    refused { caseId code reason }
  }
}"""
OUTING = """
query($id: ID!) {
  groupRepatriation(id: $id) {
    id
    requests { caseId status travelPlan { date route escort } }
    group { id size cases { id fullName } }
  }
}"""
PLAN = """
mutation($id: ID!, $input: TravelPlanInput!) {
  recordGroupTravelPlan(id: $id, input: $input) { id requests { caseId travelPlan { route } } }
}"""

FISHERMEN = [planted("Chea Sophal"), planted("Keo Ratha"), planted("Lim Vanna")]
ROUTE = planted("Songkhla - Sadao - Poipet by bus, with escort")


async def consent(
    hub: RunningHub,
    owner: str,
    case_id: str,
    recipients: list[str],
    purposes: list[str],
    categories: list[str],
) -> None:
    org = orgs(hub)
    await do(
        hub,
        owner,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "WRITTEN",
                "purposes": purposes,
                "categories": categories,
                "recipientOrganizationIds": [org[r] for r in recipients],
            }
        },
        "recordConsent",
    )


async def fishing_boat(hub: RunningHub) -> tuple[str, list[str]]:
    """The group and its three cases: two of ADHOC's, one of the NGO in Thailand's."""
    org = orgs(hub)
    cases = [
        await person_abroad(hub, "adhoc", FISHERMEN[0]),
        await person_abroad(hub, "adhoc", FISHERMEN[1]),
        await person_abroad(hub, "ngo-thailand", FISHERMEN[2]),
    ]
    group = await do(
        hub,
        "adhoc",
        CREATE_GROUP,
        {
            "input": {
                "kind": "FISHING_VESSEL",
                "country": "th",
                "idempotencyKey": "group-trawler-1",
                "memberOrganizationIds": [org["ngo-thailand"]],
            }
        },
        "createIncidentGroup",
    )
    assert group["kind"] == "FISHING_VESSEL" and group["country"] == "TH"
    assert group["reference"].startswith("GR-") and group["size"] == 0
    assert set(group["memberIds"]) == {org["adhoc"], org["ngo-thailand"]}
    for owner, case_id in zip(("adhoc", "adhoc", "ngo-thailand"), cases, strict=True):
        await do(hub, owner, ADD, {"g": group["id"], "c": case_id}, "addCaseToGroup")
    return group["id"], cases


async def refused(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], code: str
) -> GraphQLResult:
    tables = ("incident_groups", "incident_group_members", "incident_group_cases", "audit")
    before = [await hub.scalar(f"SELECT count(*) FROM {t}") for t in tables]
    result = await hub.gql(who, query, variables)
    assert result.codes == [code], (variables, result.errors)
    assert [await hub.scalar(f"SELECT count(*) FROM {t}") for t in tables] == before
    return result


async def test_members_see_the_group_and_only_the_cases_the_filter_gives_them(
    hub: RunningHub,
) -> None:
    group_id, (a, b, c) = await fishing_boat(hub)
    mine = await do(hub, "adhoc", GROUP, {"id": group_id}, "incidentGroup")
    assert mine["size"] == 3
    assert [x["id"] for x in mine["cases"]] == [a, b]  # the NGO's fisherman is not ADHOC's
    assert [x["fullName"] for x in mine["cases"]] == FISHERMEN[:2]
    theirs = await do(hub, "ngo-thailand", GROUP, {"id": group_id}, "incidentGroup")
    assert theirs["size"] == 3 and [x["id"] for x in theirs["cases"]] == [c]
    assert FISHERMEN[0] not in str(theirs) and FISHERMEN[1] not in str(theirs)

    # Once the third fisherman consents to ADHOC for legal aid (his identity only), ADHOC
    # sees his case in the group, his name, and not his health notes.
    await consent(hub, "ngo-thailand", c, ["adhoc"], ["LEGAL_AID"], ["IDENTITY"])
    mine = await do(hub, "adhoc", GROUP, {"id": group_id}, "incidentGroup")
    third = next(x for x in mine["cases"] if x["id"] == c)
    assert third["fullName"] == FISHERMEN[2] and third["healthNotes"] is None
    assert {"field": "healthNotes", "reason": "CATEGORY_NOT_COVERED"} in third["withheld"]
    shown = await fetch(
        hub,
        "SELECT categories FROM disclosures WHERE organization_id = :o AND case_id = :c",
        o=orgs(hub)["adhoc"],
        c=c,
    )
    assert shown  # the name shown through the group is in the disclosure log

    # Not a member: no group, in a list or by id; nothing to add to.
    for stranger in ("ngo-malaysia", "embassy-bangkok", "mosavy"):
        assert (await hub.gql(stranger, GROUP, {"id": group_id})).codes == ["NOT_FOUND"]
        listed = await do(hub, stranger, GROUPS, {}, "incidentGroups")
        assert listed["edges"] == []
    outsider = await person_abroad(hub, "ngo-malaysia")
    await refused(hub, "ngo-malaysia", ADD, {"g": group_id, "c": outsider}, "NOT_FOUND")
    listed = await do(hub, "ngo-thailand", GROUPS, {}, "incidentGroups")
    assert [e["node"]["id"] for e in listed["edges"]] == [group_id]


async def test_a_case_joins_a_group_only_by_its_owners_hand(hub: RunningHub) -> None:
    group_id, (a, _, c) = await fishing_boat(hub)
    # The NGO cannot add ADHOC's case: unseen, it does not exist; seen, it is not its own.
    await refused(hub, "ngo-thailand", ADD, {"g": group_id, "c": a}, "NOT_FOUND")
    await consent(hub, "adhoc", a, ["ngo-thailand"], ["SERVICE_REFERRAL"], ["IDENTITY"])
    other = await do(
        hub,
        "ngo-thailand",
        CREATE_GROUP,
        {"input": {"kind": "SCAM_COMPOUND", "country": "KH", "idempotencyKey": "group-other-1"}},
        "createIncidentGroup",
    )
    await refused(hub, "ngo-thailand", ADD, {"g": other["id"], "c": a}, "FORBIDDEN")
    # Twice is a conflict; a retried creation answers the same group; a reused key conflicts.
    await refused(hub, "ngo-thailand", ADD, {"g": group_id, "c": c}, "CONFLICT")
    again = await do(
        hub,
        "ngo-thailand",
        CREATE_GROUP,
        {"input": {"kind": "SCAM_COMPOUND", "country": "KH", "idempotencyKey": "group-other-1"}},
        "createIncidentGroup",
    )
    assert again["id"] == other["id"]
    await refused(
        hub,
        "ngo-thailand",
        CREATE_GROUP,
        {"input": {"kind": "FACTORY", "country": "KH", "idempotencyKey": "group-other-1"}},
        "CONFLICT",
    )
    await refused(
        hub,
        "adhoc",
        CREATE_GROUP,
        {"input": {"kind": "FACTORY", "country": "XX", "idempotencyKey": "group-bad-001"}},
        "BAD_USER_INPUT",
    )
    # An embassy owns no cases and makes no groups (no cases:write in its ceiling).
    result = await hub.gql(
        "embassy-bangkok",
        CREATE_GROUP,
        {"input": {"kind": "FACTORY", "country": "TH", "idempotencyKey": "group-emb-001"}},
    )
    assert result.codes == ["FORBIDDEN"]


async def test_a_group_goes_home_together_each_under_her_own_consent(hub: RunningHub) -> None:
    org = orgs(hub)
    group_id, (a, b, c) = await fishing_boat(hub)
    await consent(
        hub, "adhoc", a, ["embassy-bangkok", "mosavy"], ["REPATRIATION"], ["IDENTITY", "LOCATION"]
    )
    await consent(hub, "adhoc", b, ["mosavy"], ["REPATRIATION"], ["IDENTITY"])  # not the embassy
    asking = {
        "input": {
            "groupId": group_id,
            "embassyId": org["embassy-bangkok"],
            "receivingOrganizationId": org["mosavy"],
            "currentCountry": "TH",
            "situation": "SHELTER",
            "documentsHeld": ["NONE"],
            "assistanceNeeded": ["TRAVEL_DOCUMENT", "ESCORT"],
            "urgency": "URGENT",
            "idempotencyKey": "group-home-0001",
        }
    }
    result = await do(hub, "adhoc", REQUEST_GROUP, asking, "requestGroupRepatriation")
    outing = result["groupRepatriation"]
    assert [r["caseId"] for r in outing["requests"]] == [a]
    assert [(r["caseId"], r["code"]) for r in result["refused"]] == [(b, "CONSENT_REQUIRED")]
    assert FISHERMEN[1] not in str(result)

    # The embassy sees the group repatriation, the group, and of its cases only the one it
    # is party to; the NGO's fisherman (not in this repatriation) is not there for it.
    seen = await do(hub, "embassy-bangkok", OUTING, {"id": outing["id"]}, "groupRepatriation")
    assert seen["group"]["size"] == 3
    assert seen["group"]["cases"] == [{"id": a, "fullName": FISHERMEN[0]}]
    for stranger in ("ngo-malaysia", "ngo-thailand", "embassy-beijing"):
        hidden = await hub.gql(stranger, OUTING, {"id": outing["id"]})
        assert hidden.codes == ["NOT_FOUND"], stranger

    # One travel plan for everyone under way, recorded once by the embassy.
    planned = await do(
        hub,
        "embassy-bangkok",
        PLAN,
        {"id": outing["id"], "input": {"date": "2027-03-02", "route": ROUTE}},
        "recordGroupTravelPlan",
    )
    assert [r["travelPlan"]["route"] for r in planned["requests"]] == [ROUTE]
    assert (
        await hub.gql(
            "ngo-thailand",
            PLAN,
            {"id": outing["id"], "input": {"date": "2027-03-02", "route": ROUTE}},
        )
    ).codes == ["NOT_FOUND"]

    # The second fisherman consents later; the same request, retried, brings him in too
    # and repeats nothing for the first.
    await consent(hub, "adhoc", b, ["embassy-bangkok"], ["REPATRIATION"], ["IDENTITY"])
    again = await do(hub, "adhoc", REQUEST_GROUP, asking, "requestGroupRepatriation")
    assert again["groupRepatriation"]["id"] == outing["id"] and again["refused"] == []
    assert sorted(r["caseId"] for r in again["groupRepatriation"]["requests"]) == sorted([a, b])
    assert await hub.scalar("SELECT count(*) FROM repatriation_requests") == 2
    # A different request under the same key conflicts; a case not the caller's is unseen.
    other = {"input": {**asking["input"], "caseIds": [a]}}
    assert (await hub.gql("adhoc", REQUEST_GROUP, other)).codes == ["CONFLICT"]
    theirs = {"input": {**asking["input"], "caseIds": [c], "idempotencyKey": "group-home-0002"}}
    assert (await hub.gql("adhoc", REQUEST_GROUP, theirs)).codes == ["NOT_FOUND"]


async def test_a_group_repatriation_nobody_may_join_writes_nothing(hub: RunningHub) -> None:
    org = orgs(hub)
    group_id, (a, b, _) = await fishing_boat(hub)
    await consent(hub, "adhoc", a, ["mosavy"], ["REPATRIATION"], ["IDENTITY"])
    tables = ("group_repatriations", "group_repatriation_members", "repatriation_requests")
    tables += ("incident_group_members", "events", "audit")

    async def refused_whole(variables: dict[str, Any], code: str, who: str = "adhoc") -> None:
        before = [await hub.scalar(f"SELECT count(*) FROM {t}") for t in tables]
        result = await hub.gql(who, REQUEST_GROUP, variables)
        assert result.codes == [code], result.errors
        assert [await hub.scalar(f"SELECT count(*) FROM {t}") for t in tables] == before

    asking = {
        "groupId": group_id,
        "embassyId": org["embassy-bangkok"],
        "receivingOrganizationId": org["mosavy"],
        "currentCountry": "TH",
        "situation": "SHELTER",
        "documentsHeld": ["NONE"],
        "assistanceNeeded": ["ESCORT"],
        "urgency": "URGENT",
        "idempotencyKey": "group-none-0001",
    }
    # Neither fisherman's consent covers the embassy: no group repatriation at all.
    await refused_whole({"input": asking}, "CONSENT_REQUIRED")
    # Not an embassy, or one that does not cover the country: refused whole.
    await consent(
        hub, "adhoc", a, ["embassy-bangkok", "embassy-beijing"], ["REPATRIATION"], ["IDENTITY"]
    )
    await refused_whole({"input": {**asking, "embassyId": org["mosavy"]}}, "BAD_USER_INPUT")
    await refused_whole(
        {"input": {**asking, "embassyId": org["embassy-beijing"]}}, "BAD_USER_INPUT"
    )
    # Not a member of the group; a member whose own fisherman has not consented.
    await refused_whole({"input": asking}, "NOT_FOUND", who="ngo-malaysia")
    await refused_whole({"input": asking}, "CONSENT_REQUIRED", who="ngo-thailand")
    # With the embassy covered for one of them, that one goes, the other is refused alone.
    done = await do(hub, "adhoc", REQUEST_GROUP, {"input": asking}, "requestGroupRepatriation")
    assert [r["caseId"] for r in done["groupRepatriation"]["requests"]] == [a]
    assert [r["caseId"] for r in done["refused"]] == [b]
