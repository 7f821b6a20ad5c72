"""Who sees what of a survivor's case: every demo organisation, every sensitive field.

A transit centre in Koh Kong opens a case with every piece of survivor data filled, records
the survivor's consent for several partners (some in force, one expired, one not yet valid,
some withdrawn), and then every member of the network reads it. What each one sees is
checked against a table written by hand from the grants, not computed by the product.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cases.rules import SENSITIVE_FIELDS
from tests.network import GraphQLResult, RunningHub

OWNER = "ccpcr-koh-kong"

# The category of every sensitive field, as the issue lists them (kept here on purpose, so a
# field moved to another category in the product shows up as a failure).
CATEGORY = {
    "fullName": "IDENTITY",
    "otherNames": "IDENTITY",
    "dateOfBirth": "IDENTITY",
    "estimatedAge": "IDENTITY",
    "identityDocuments": "IDENTITY",
    "phone": "CONTACT",
    "familyContact": "CONTACT",
    "currentLocation": "LOCATION",
    "homeProvince": "LOCATION",
    "homeCommune": "LOCATION",
    "healthNotes": "HEALTH",
    "legalNotes": "LEGAL",
    "exploitationTypes": "TRAFFICKING_EXPERIENCE",
    "recruiterRelationship": "TRAFFICKING_EXPERIENCE",
    "recruitmentNotes": "TRAFFICKING_EXPERIENCE",
    "destinationCountry": "TRAFFICKING_EXPERIENCE",
    "exploitationStartDate": "TRAFFICKING_EXPERIENCE",
    "exploitationEndDate": "TRAFFICKING_EXPERIENCE",
}

# Every field filled, written as GraphQL shows it back.
SURVIVOR: dict[str, Any] = {
    "fullName": "Chea Sophal Matrixperson",
    "otherNames": ["Srey Pov"],
    "dateOfBirth": "2001-04-17",
    "estimatedAge": 23,
    "identityDocuments": [{"type": "PASSPORT", "number": "N0123456"}],
    "phone": "+855 97 765 4321",
    "familyContact": "mother, stall 14 at Kampong Cham market",
    "currentLocation": "CCPCR transit centre, Koh Kong",
    "homeProvince": "KH-3",  # Kampong Cham, recorded by its ISO 3166-2 code
    "homeCommune": "Chhuk",
    "healthNotes": "treated for dehydration",
    "legalNotes": "witness statement taken by provincial police",
    "exploitationTypes": ["FORCED_LABOUR", "SEXUAL_EXPLOITATION"],
    "recruiterRelationship": "FRIEND",
    "recruitmentNotes": "offered factory work in Rayong",
    "destinationCountry": "TH",
    "exploitationStartDate": "2023-01-10",
    "exploitationEndDate": "2024-02-01",
}

FIELDS = " ".join(
    "identityDocuments { type number }" if name == "identityDocuments" else name
    for name in CATEGORY
)
READ = f"query($id: ID!) {{ case(id: $id) {{ id {FIELDS} withheld {{ field category reason }} }} }}"
LIST = "{ cases(first: 100) { edges { node { id } } } }"
CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id version } }"
WITHDRAW = (
    'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "survivor changed her mind") '
    "{ id holders { organizationId acknowledgedAt } } }"
)
DISCLOSURES = (
    "query($id: ID!) { disclosures(caseId: $id) "
    "{ organizationId categories consentId consentVersion channel requestId } }"
)

V = "visible"
NF = "NOT_FOUND"
FB = "FORBIDDEN"
PII = "PII_SCOPE_REQUIRED"
CAT = "CATEGORY_NOT_COVERED"
ALL_CATEGORIES = ["IDENTITY", "CONTACT", "LOCATION", "HEALTH", "LEGAL", "TRAFFICKING_EXPERIENCE"]


def every(outcome: str) -> dict[str, str]:
    return dict.fromkeys(ALL_CATEGORIES, outcome)


# What each viewer sees of each category, worked out by hand from the grants recorded in
# the test below. A viewer is a demo member and the scopes of its token ("all" = every scope
# its client holds; "no-pii" = only cases:read).
EXPECTED: dict[tuple[str, str], str | dict[str, str]] = {
    # The owner sees everything it holds.
    (OWNER, "all"): every(V),
    # ...but identity and contact only with pii:read, even its own.
    (OWNER, "no-pii"): {**every(V), "IDENTITY": PII, "CONTACT": PII},
    # Legal aid: named for LEGAL_AID on IDENTITY+LEGAL (in force), on CONTACT (expired
    # yesterday) and on HEALTH (valid from tomorrow). Not a service provider, so the grant
    # to that kind does not reach it.
    ("adhoc", "all"): {
        "IDENTITY": V,
        "CONTACT": "EXPIRED",
        "LOCATION": CAT,
        "HEALTH": "NOT_YET_VALID",
        "LEGAL": V,
        "TRAFFICKING_EXPERIENCE": CAT,
    },
    ("adhoc", "no-pii"): {
        "IDENTITY": PII,
        "CONTACT": PII,
        "LOCATION": CAT,
        "HEALTH": "NOT_YET_VALID",
        "LEGAL": V,
        "TRAFFICKING_EXPERIENCE": CAT,
    },
    # The shelter: named for SERVICE_REFERRAL on HEALTH+LOCATION+CONTACT, and a service
    # provider, a kind granted TRAFFICKING_EXPERIENCE for SERVICE_REFERRAL.
    ("ccpcr-shelter", "all"): {
        "IDENTITY": CAT,
        "CONTACT": V,
        "LOCATION": V,
        "HEALTH": V,
        "LEGAL": CAT,
        "TRAFFICKING_EXPERIENCE": V,
    },
    # The embassy in Bangkok: REPATRIATION on IDENTITY+LOCATION, and on HEALTH (withdrawn).
    ("embassy-bangkok", "all"): {
        "IDENTITY": V,
        "CONTACT": CAT,
        "LOCATION": V,
        "HEALTH": "WITHDRAWN",
        "LEGAL": CAT,
        "TRAFFICKING_EXPERIENCE": CAT,
    },
    ("embassy-bangkok", "no-pii"): {
        "IDENTITY": PII,
        "CONTACT": PII,
        "LOCATION": V,
        "HEALTH": "WITHDRAWN",
        "LEGAL": CAT,
        "TRAFFICKING_EXPERIENCE": CAT,
    },
    # Its only grant was withdrawn: no longer party.
    ("ngo-thailand", "all"): NF,
    # Named, but from tomorrow.
    ("mosavy", "all"): NF,
    # Named, but the grant expired yesterday; a service provider, but a grant to a kind does
    # not make anyone party to a case.
    ("ccpcr-svay-rieng", "all"): NF,
    # Never named.
    ("embassy-kuala-lumpur", "all"): NF,
    ("embassy-beijing", "all"): NF,
    ("ngo-malaysia", "all"): NF,
    # The secretariat runs the network and never reads cases.
    ("secretariat", "all"): FB,
}

# The disclosures one read by each viewer amounts to: (grant label, categories).
DISCLOSED: dict[tuple[str, str], list[tuple[str, list[str]]]] = {
    ("adhoc", "all"): [("adhoc", ["IDENTITY", "LEGAL"])],
    ("adhoc", "no-pii"): [("adhoc", ["LEGAL"])],
    ("ccpcr-shelter", "all"): [
        ("shelter", ["CONTACT", "HEALTH", "LOCATION"]),
        ("providers", ["TRAFFICKING_EXPERIENCE"]),
    ],
    ("embassy-bangkok", "all"): [("embassy", ["IDENTITY", "LOCATION"])],
    ("embassy-bangkok", "no-pii"): [("embassy", ["LOCATION"])],
}


# The survivor's consent, in the order it was recorded: (label, purposes, categories,
# recipient member or organisation kind, valid from and until in days from now).
GRANTS: list[tuple[str, list[str], list[str], str, int | None, int | None]] = [
    ("adhoc", ["LEGAL_AID"], ["IDENTITY", "LEGAL"], "adhoc", None, None),
    ("adhoc-expired", ["LEGAL_AID"], ["CONTACT"], "adhoc", -10, -1),
    ("adhoc-later", ["LEGAL_AID"], ["HEALTH"], "adhoc", 1, None),
    (
        "shelter",
        ["SERVICE_REFERRAL"],
        ["HEALTH", "LOCATION", "CONTACT"],
        "ccpcr-shelter",
        None,
        None,
    ),
    ("providers", ["SERVICE_REFERRAL"], ["TRAFFICKING_EXPERIENCE"], "SERVICE_PROVIDER", None, None),
    ("embassy", ["REPATRIATION"], ["IDENTITY", "LOCATION"], "embassy-bangkok", None, None),
    ("embassy-health", ["REPATRIATION"], ["HEALTH"], "embassy-bangkok", None, None),
    ("ngo", ["REPATRIATION"], ["IDENTITY", "CONTACT", "LOCATION"], "ngo-thailand", None, None),
    ("mosavy", ["FOLLOW_UP"], ALL_CATEGORIES, "mosavy", 1, None),
    ("svay-rieng", ["SERVICE_REFERRAL"], ALL_CATEGORIES, "ccpcr-svay-rieng", -10, -1),
]


async def post(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], scope: str | None = None
) -> tuple[GraphQLResult, str]:
    """One GraphQL request as ``who``; the result and the request id the hub gave it."""
    token = await hub.token(who, scope)
    response = await hub.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return GraphQLResult(response.status_code, response.json()), response.headers["x-request-id"]


async def grant(hub: RunningHub, case_id: str, **fields: Any) -> dict[str, Any]:
    result = await hub.gql(
        OWNER,
        CONSENT,
        {"input": {"caseId": case_id, "grantor": "SURVIVOR", "method": "WRITTEN", **fields}},
    )
    assert not result.errors, result.errors
    recorded: dict[str, Any] = result.data["recordConsent"]
    return recorded


def when(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_every_organisation_sees_each_field_exactly_as_consent_allows(
    hub: RunningHub,
) -> None:
    assert set(CATEGORY) == {f.name for f in SENSITIVE_FIELDS}
    assert {f.name: f.category.value for f in SENSITIVE_FIELDS} == CATEGORY
    assert {member for member, _ in EXPECTED} == set(hub.members)
    org = {key: m.organization_id for key, m in hub.members.items()}

    # Given a case with every sensitive field filled
    created = await hub.gql(
        OWNER,
        CREATE,
        {
            "input": {
                "ageBand": "AGE_21_23",
                "sex": "FEMALE",
                "nationality": "KH",
                "languages": ["km"],
                "survivor": SURVIVOR,
            }
        },
    )
    assert not created.errors, created.errors
    case_id = created.data["createCase"]["id"]

    # and the survivor's consent, as recorded over time
    grants = {}
    for label, purposes, categories, recipient, days_from, days_until in GRANTS:
        named = {"recipientOrganizationIds": [org[recipient]]} if recipient in org else {}
        kinds = {} if named else {"recipientKinds": [recipient]}
        valid = {"validFrom": when(days_from)} if days_from is not None else {}
        if days_until is not None:
            valid["validUntil"] = when(days_until)
        grants[label] = await grant(
            hub, case_id, purposes=purposes, categories=categories, **named, **kinds, **valid
        )
    assert [g["version"] for g in grants.values()] == list(range(1, len(grants) + 1))

    # The NGO in Thailand reads while its consent holds, then the survivor withdraws it,
    # and the embassy's grant on health too.
    early, early_request = await post(hub, "ngo-thailand", READ, {"id": case_id})
    assert not early.errors, early.errors
    assert early.data["case"]["fullName"] == SURVIVOR["fullName"]
    assert early.data["case"]["phone"] == SURVIVOR["phone"]
    assert early.data["case"]["healthNotes"] is None
    for label in ("ngo", "embassy-health"):
        withdrawn = await hub.gql(OWNER, WITHDRAW, {"id": grants[label]["id"]})
        assert not withdrawn.errors, withdrawn.errors
    before = await hub.scalar("SELECT COUNT(*) FROM disclosures")

    # What a case that does not exist looks like
    unknown, _ = await post(hub, OWNER, READ, {"id": str(uuid.uuid4())})
    assert unknown.codes == ["NOT_FOUND"] and unknown.data == {"case": None}

    # When every viewer reads the case, and lists its cases
    expected_disclosures: list[tuple[str, str, int, list[str], str]] = []
    for (member, scopes), expected in EXPECTED.items():
        scope = "cases:read" if scopes == "no-pii" else None
        seen, request_id = await post(hub, member, READ, {"id": case_id}, scope)
        listed, _ = await post(hub, member, LIST, {}, scope)
        who = f"{member} ({scopes})"

        if expected in (NF, FB):
            assert seen.codes == [expected], (who, seen.body)
            assert seen.data == {"case": None}, who
            if expected == NF:
                # exactly as a case that does not exist
                assert [e["message"] for e in seen.errors] == [
                    e["message"] for e in unknown.errors
                ], who
                assert not listed.errors, (who, listed.errors)
                assert case_id not in {e["node"]["id"] for e in listed.data["cases"]["edges"]}, who
            else:
                assert listed.codes == [FB] and listed.data is None, who
            continue

        assert isinstance(expected, dict)
        assert not seen.errors, (who, seen.errors)
        assert not listed.errors, (who, listed.errors)
        assert case_id in {e["node"]["id"] for e in listed.data["cases"]["edges"]}, who
        case = seen.data["case"]
        withheld = {w["field"]: (w["category"], w["reason"]) for w in case["withheld"]}
        for field, category in CATEGORY.items():
            outcome = expected[category]
            if outcome == V:
                assert case[field] == SURVIVOR[field], (who, field)
                assert field not in withheld, (who, field)
            else:
                assert case[field] is None, (who, field)
                assert withheld.get(field) == (category, outcome), (who, field)
        assert set(withheld) <= set(CATEGORY), who

        for label, categories in DISCLOSED.get((member, scopes), []):
            g = grants[label]
            row = (org[member], g["id"], g["version"], categories, request_id)
            # one entry for the read of the case; the list asks for no survivor field, so
            # it opens nothing and discloses nothing
            expected_disclosures.append(row)

    # Then the owner sees who has seen what: one entry per grant used, per read
    log = await hub.gql(OWNER, DISCLOSURES, {"id": case_id})
    assert not log.errors, log.errors
    entries = log.data["disclosures"]
    ngo_entries, entries = entries[:1], entries[1:]
    assert ngo_entries == [
        {
            "organizationId": org["ngo-thailand"],
            "categories": ["CONTACT", "IDENTITY", "LOCATION"],
            "consentId": grants["ngo"]["id"],
            "consentVersion": grants["ngo"]["version"],
            "channel": "QUERY",
            "requestId": early_request,
        }
    ]
    assert all(e["channel"] == "QUERY" and e["requestId"] for e in entries)
    actual = [
        (e["organizationId"], e["consentId"], e["consentVersion"], e["categories"], e["requestId"])
        for e in entries
    ]
    assert sorted(r[:4] for r in actual) == sorted(r[:4] for r in expected_disclosures)
    for row in expected_disclosures:  # each read's entries carry that request's id
        assert row[4] == "list" or row in actual, row
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures") == before + len(actual)
