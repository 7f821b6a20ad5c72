"""Issue 14's group story: three fishermen of one Thai trawler brought home as a group.

The partner NGO in Thailand finds three Cambodian fishermen after their boat is raided in
Songkhla. It opens their cases and links them as one incident group. Dara and Sophea consent to
the embassy in Bangkok and the Ministry of Social Affairs (reception) for their return, who
they are and where they are, not their health; Vichet consents to the Ministry only. The NGO
asks the embassy to bring the group home in one request: Dara and Sophea go, Vichet is left
out on his own with the reason. The embassy acknowledges both, issues their papers, records
one travel plan and brings them home; the Ministry confirms each hand-over, which offers it
each case. At every step an organisation sees only what each fisherman's consent gives it:
the embassy never sees anything of Vichet's, and an organisation outside the story nothing.
"""

from __future__ import annotations

import json
from typing import Any

from tests.api.custody_support import BOX as TRANSFERS
from tests.api.repatriation_support import ACK, HANDOVER, UPDATE, do, fetch, orgs
from tests.api.test_repatriation_flow import CONSENT, CREATE
from tests.marker_watch import planted
from tests.network import RunningHub

NAMES = [planted("Dara Trawlerstory"), planted("Sophea Trawlerstory"), planted("Vichet Trawler")]
WHERE = [
    planted("Songkhla shelter, room 3"),
    planted("Songkhla shelter, room 4"),
    planted("Songkhla police station, cell 2"),
]
HEALTH = [
    planted("rope burns on both hands"),
    planted("untreated tooth infection"),
    planted("beaten by the captain, broken rib"),
]
ROUTE = planted("Songkhla - Hat Yai - Bangkok - Poipet by van, with escort")
REFUSED_REASON = (
    "the survivor's consent does not cover the embassy and the reception organisation "
    "for REPATRIATION"
)

CREATE_GROUP = """
mutation($input: CreateIncidentGroupInput!) {
  createIncidentGroup(input: $input) { id kind country size memberIds }
}"""
ADD = "mutation($g: ID!, $c: ID!) { addCaseToGroup(groupId: $g, caseId: $c) { id size } }"
CASE_FIELDS = "id status fullName currentLocation healthNotes withheld { field reason }"
GROUP = f"""
query($id: ID!) {{ incidentGroup(id: $id) {{ id size memberIds cases {{ {CASE_FIELDS} }} }} }}"""
GROUPS = "query { incidentGroups(first: 10) { edges { node { id size } } } }"
CASE = f"query($id: ID!) {{ case(id: $id) {{ {CASE_FIELDS} }} }}"
REQUEST_GROUP = """
mutation($input: RequestGroupRepatriationInput!) {
  requestGroupRepatriation(input: $input) {
    groupRepatriation { id groupId requesterId embassyId receptionId requests { id caseId status } }
    refused { caseId code reason }
  }
}"""
OUTING = f"""
query($id: ID!) {{
  groupRepatriation(id: $id) {{
    id groupId
    requests {{ id caseId status travelPlan {{ date route escort }} }}
    group {{ id size cases {{ {CASE_FIELDS} }} }}
  }}
}}"""
PLAN = """
mutation($id: ID!, $input: TravelPlanInput!) {
  recordGroupTravelPlan(id: $id, input: $input) { id requests { caseId travelPlan { route } } }
}"""


async def open_fisherman(hub: RunningHub, i: int) -> str:
    created = await do(
        hub,
        "ngo-thailand",
        CREATE,
        {
            "input": {
                "ageBand": "AGE_21_23",
                "sex": "MALE",
                "nationality": "KH",
                "survivor": {
                    "fullName": NAMES[i],
                    "currentLocation": WHERE[i],
                    "healthNotes": HEALTH[i],
                },
            }
        },
        "createCase",
    )
    case_id: str = created["id"]
    return case_id


async def consent(hub: RunningHub, case_id: str, recipients: list[str]) -> None:
    org = orgs(hub)
    await do(
        hub,
        "ngo-thailand",
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "THUMBPRINT",
                "purposes": ["REPATRIATION"],
                "categories": ["IDENTITY", "LOCATION"],
                "recipientOrganizationIds": [org[r] for r in recipients],
            }
        },
        "recordConsent",
    )


def consented_view(case: dict[str, Any], i: int) -> None:
    """What a consented recipient sees: who and where he is; his health withheld, and why."""
    assert case["fullName"] == NAMES[i] and case["currentLocation"] == WHERE[i]
    assert case["healthNotes"] is None
    assert {"field": "healthNotes", "reason": "CATEGORY_NOT_COVERED"} in case["withheld"]
    assert {w["reason"] for w in case["withheld"]} == {"CATEGORY_NOT_COVERED"}
    assert not {"fullName", "currentLocation"} & {w["field"] for w in case["withheld"]}


async def test_three_fishermen_of_one_boat_go_home_as_a_group(hub: RunningHub) -> None:
    org = orgs(hub)
    seen_by_embassy: list[Any] = []

    async def embassy(query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        answer = await do(hub, "embassy-bangkok", query, variables, field)
        seen_by_embassy.append(answer)
        return answer

    # -- The NGO in Thailand opens the three cases and links them as one incident.
    cases = [await open_fisherman(hub, i) for i in range(3)]
    dara, sophea, vichet = cases
    group = await do(
        hub,
        "ngo-thailand",
        CREATE_GROUP,
        {"input": {"kind": "FISHING_VESSEL", "country": "TH", "idempotencyKey": "trawler-story"}},
        "createIncidentGroup",
    )
    assert (group["kind"], group["country"], group["size"]) == ("FISHING_VESSEL", "TH", 0)
    assert group["memberIds"] == [org["ngo-thailand"]]
    for case_id in cases:
        await do(hub, "ngo-thailand", ADD, {"g": group["id"], "c": case_id}, "addCaseToGroup")
    owned = await do(hub, "ngo-thailand", GROUP, {"id": group["id"]}, "incidentGroup")
    assert owned["size"] == 3 and [c["id"] for c in owned["cases"]] == cases
    assert [(c["fullName"], c["healthNotes"], c["withheld"]) for c in owned["cases"]] == [
        (NAMES[i], HEALTH[i], []) for i in range(3)
    ]

    # -- Consent: Dara and Sophea to the embassy and the Ministry; Vichet to the Ministry only.
    await consent(hub, dara, ["embassy-bangkok", "mosavy"])
    await consent(hub, sophea, ["embassy-bangkok", "mosavy"])
    await consent(hub, vichet, ["mosavy"])

    # -- One group request to the embassy: two go, Vichet is refused alone, with the reason.
    asked = await do(
        hub,
        "ngo-thailand",
        REQUEST_GROUP,
        {
            "input": {
                "groupId": group["id"],
                "embassyId": org["embassy-bangkok"],
                "receivingOrganizationId": org["mosavy"],
                "currentCountry": "TH",
                "situation": "SHELTER",
                "documentsHeld": ["NONE"],
                "assistanceNeeded": ["NATIONALITY_VERIFICATION", "TRAVEL_DOCUMENT", "ESCORT"],
                "urgency": "URGENT",
                "idempotencyKey": "trawler-story-home",
            }
        },
        "requestGroupRepatriation",
    )
    outing = asked["groupRepatriation"]
    assert (outing["groupId"], outing["requesterId"]) == (group["id"], org["ngo-thailand"])
    assert (outing["embassyId"], outing["receptionId"]) == (org["embassy-bangkok"], org["mosavy"])
    assert [(r["caseId"], r["status"]) for r in outing["requests"]] == [
        (dara, "SUBMITTED"),
        (sophea, "SUBMITTED"),
    ]
    assert asked["refused"] == [
        {"caseId": vichet, "code": "CONSENT_REQUIRED", "reason": REFUSED_REASON}
    ]
    rids = {r["caseId"]: r["id"] for r in outing["requests"]}
    held = await fetch(
        hub, "SELECT count(*) FROM repatriation_requests WHERE case_id = :c", c=vichet
    )
    assert held[0][0] == 0  # nothing was written for him
    events = await fetch(
        hub,
        "SELECT audience, payload FROM events WHERE type = 'GROUP_REPATRIATION_REQUESTED'",
    )
    ((audience, payload),) = events
    audience = json.loads(audience) if isinstance(audience, str) else audience
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert sorted(audience) == sorted([org["ngo-thailand"], org["embassy-bangkok"], org["mosavy"]])
    assert payload == {"groupRepatriationId": outing["id"], "groupId": group["id"]}

    # -- The embassy sees the group (its size, not who), the group repatriation, and of the
    #    fishermen only Dara and Sophea, as their consent gives it; Vichet does not exist for it.
    listed = await embassy(GROUPS, {}, "incidentGroups")
    assert [e["node"] for e in listed["edges"]] == [{"id": group["id"], "size": 3}]
    view = await embassy(OUTING, {"id": outing["id"]}, "groupRepatriation")
    assert [r["caseId"] for r in view["requests"]] == [dara, sophea]
    assert view["group"]["size"] == 3
    assert [c["id"] for c in view["group"]["cases"]] == [dara, sophea]
    for i, case in enumerate(view["group"]["cases"]):
        consented_view(case, i)
    hidden = await hub.gql("embassy-bangkok", CASE, {"id": vichet})
    assert hidden.codes == ["NOT_FOUND"], hidden.body
    seen_by_embassy.append(hidden.body)

    # -- The embassy acknowledges each request, verifies and issues papers, records one travel
    #    plan for both, and brings them home.
    for case_id in (dara, sophea):
        acked = await embassy(ACK, {"id": rids[case_id]}, "acknowledgeRepatriation")
        assert acked["status"] == "ACKNOWLEDGED"
        for status in ("VERIFYING", "DOCUMENTS_ISSUED"):
            await embassy(UPDATE, {"id": rids[case_id], "status": status}, "updateRepatriation")
    planned = await embassy(
        PLAN,
        {"id": outing["id"], "input": {"date": "2027-04-10", "route": ROUTE}},
        "recordGroupTravelPlan",
    )
    assert [(r["caseId"], r["travelPlan"]["route"]) for r in planned["requests"]] == [
        (dara, ROUTE),
        (sophea, ROUTE),
    ]
    for case_id in (dara, sophea):
        for status in ("TRAVEL_ARRANGED", "RETURNED"):
            moved = await embassy(
                UPDATE, {"id": rids[case_id], "status": status}, "updateRepatriation"
            )
            assert moved["status"] == status

    # -- The Ministry, the reception organisation, confirms each hand-over at the border;
    #    each hand-over offers it that fisherman's case.
    for case_id in (dara, sophea):
        handed = await do(hub, "mosavy", HANDOVER, {"id": rids[case_id]}, "confirmHandover")
        assert handed["status"] == "HANDED_OVER"
    inbox = await do(
        hub, "mosavy", TRANSFERS, {"box": "INBOX", "status": "OFFERED"}, "caseTransfers"
    )
    offers = sorted(
        (e["node"]["caseId"], e["node"]["origin"], e["node"]["repatriationId"])
        for e in inbox["edges"]
    )
    assert offers == sorted([(c, "HANDOVER", rids[c]) for c in (dara, sophea)])

    # -- The Ministry sees the group repatriation done and, as their consent gives it, the
    #    two it received and Vichet too (his consent names the Ministry): who and where each
    #    is, never his health.
    received = await do(hub, "mosavy", OUTING, {"id": outing["id"]}, "groupRepatriation")
    assert [(r["caseId"], r["status"]) for r in received["requests"]] == [
        (dara, "HANDED_OVER"),
        (sophea, "HANDED_OVER"),
    ]
    assert [c["id"] for c in received["group"]["cases"]] == cases
    for i, case in enumerate(received["group"]["cases"]):
        consented_view(case, i)

    # -- The embassy, after it all, still sees the same two and nothing of Vichet.
    after = await embassy(GROUP, {"id": group["id"]}, "incidentGroup")
    assert [c["id"] for c in after["cases"]] == [dara, sophea]
    everything = json.dumps(seen_by_embassy)
    for value in (NAMES[2], WHERE[2], HEALTH[2], *HEALTH):
        assert value not in everything
    assert vichet not in everything

    # -- The owner still sees all three in full; an organisation outside the story, nothing.
    mine = await do(hub, "ngo-thailand", CASE, {"id": vichet}, "case")
    assert (mine["fullName"], mine["healthNotes"], mine["withheld"]) == (NAMES[2], HEALTH[2], [])
    for query, variables in (
        (OUTING, {"id": outing["id"]}),
        (GROUP, {"id": group["id"]}),
        (CASE, {"id": dara}),
    ):
        outsider = await hub.gql("ngo-malaysia", query, variables)
        assert outsider.codes == ["NOT_FOUND"], outsider.body
    assert (await do(hub, "ngo-malaysia", GROUPS, {}, "incidentGroups"))["edges"] == []
