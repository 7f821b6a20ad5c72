"""Who sees what of a survivor's case: every demo organisation, every sensitive field.

A transit centre in Koh Kong opens a case with every piece of survivor data filled, records
the survivor's consent for several partners (some in force, one expired, one not yet valid,
some withdrawn), and then every member of the network reads it. What each one sees is
checked against a table written by hand from the grants, not computed by the product.
"""

from __future__ import annotations

import json
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
    "homeProvince": "Kampong Cham",
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
LIST = "{ cases(first: 500) { id } }"
CREATE = "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }"
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id version } }"
WITHDRAW = (
    "mutation($id: ID!) { withdrawConsent(consentId: $id, reason: \"survivor changed her mind\") "
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
        {"input": {"ageBand": "AGE_21_23", "sex": "FEMALE", "nationality": "KH",
                   "languages": ["km"], "survivor": SURVIVOR}},
    )
    assert not created.errors, created.errors
    case_id = created.data["createCase"]["id"]

    # and the survivor's consent, as recorded over time
    grants = {
        "adhoc": await grant(hub, case_id, purposes=["LEGAL_AID"],
                             categories=["IDENTITY", "LEGAL"],
                             recipientOrganizationIds=[org["adhoc"]]),
        "adhoc-expired": await grant(hub, case_id, purposes=["LEGAL_AID"],
                                     categories=["CONTACT"],
                                     recipientOrganizationIds=[org["adhoc"]],
                                     validFrom=when(-10), validUntil=when(-1)),
        "adhoc-later": await grant(hub, case_id, purposes=["LEGAL_AID"], categories=["HEALTH"],
                                   recipientOrganizationIds=[org["adhoc"]], validFrom=when(1)),
        "shelter": await grant(hub, case_id, purposes=["SERVICE_REFERRAL"],
                               categories=["HEALTH", "LOCATION", "CONTACT"],
                               recipientOrganizationIds=[org["ccpcr-shelter"]]),
        "providers": await grant(hub, case_id, purposes=["SERVICE_REFERRAL"],
                                 categories=["TRAFFICKING_EXPERIENCE"],
                                 recipientKinds=["SERVICE_PROVIDER"]),
        "embassy": await grant(hub, case_id, purposes=["REPATRIATION"],
                               categories=["IDENTITY", "LOCATION"],
                               recipientOrganizationIds=[org["embassy-bangkok"]]),
        "embassy-health": await grant(hub, case_id, purposes=["REPATRIATION"],
                                      categories=["HEALTH"],
                                      recipientOrganizationIds=[org["embassy-bangkok"]]),
        "ngo": await grant(hub, case_id, purposes=["REPATRIATION"],
                           categories=["IDENTITY", "CONTACT", "LOCATION"],
                           recipientOrganizationIds=[org["ngo-thailand"]]),
        "mosavy": await grant(hub, case_id, purposes=["FOLLOW_UP"], categories=ALL_CATEGORIES,
                              recipientOrganizationIds=[org["mosavy"]], validFrom=when(1)),
        "svay-rieng": await grant(hub, case_id, purposes=["SERVICE_REFERRAL"],
                                  categories=ALL_CATEGORIES,
                                  recipientOrganizationIds=[org["ccpcr-svay-rieng"]],
                                  validFrom=when(-10), validUntil=when(-1)),
    }
    assert [g["version"] for g in grants.values()] == list(range(1, len(grants) + 1))

    # The NGO in Thailand reads while its consent holds, then the survivor withdraws it,
    # and the embassy's grant on health too.
    early, _ = await post(hub, "ngo-thailand", READ, {"id": case_id})
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
                assert case_id not in {c["id"] for c in listed.data["cases"]}, who
            else:
                assert listed.codes == [FB] and listed.data is None, who
            continue

        assert isinstance(expected, dict)
        assert not seen.errors, (who, seen.errors)
        assert not listed.errors, (who, listed.errors)
        assert case_id in {c["id"] for c in listed.data["cases"]}, who
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
            # one entry for the read of the case, one for the list that holds it
            expected_disclosures += [row, (*row[:4], "list")]

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
            "requestId": ngo_entries[0]["requestId"],
        }
    ]
    assert all(e["channel"] == "QUERY" and e["requestId"] for e in entries)
    actual = [
        (e["organizationId"], e["consentId"], e["consentVersion"], e["categories"], e["requestId"])
        for e in entries
    ]
    assert sorted(r[:4] for r in actual) == sorted(r[:4] for r in expected_disclosures)
    case_reads = {r[4] for r in expected_disclosures if r[4] != "list"}
    assert case_reads <= {r[4] for r in actual}
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures") == before + len(actual)


ACK = "mutation($id: ID!) { acknowledgeConsentWithdrawal(consentId: $id) { consentId acknowledgedAt } }"
NOTICES = "query($pending: Boolean!) { consentWithdrawalNotices(pendingOnly: $pending) { consentId caseId acknowledgedAt } }"
HOLDERS = "query($id: ID!) { consents(caseId: $id) { id holders { organizationId acknowledgedAt } } }"


async def audience_of_withdrawal(hub: RunningHub, consent_id: str) -> list[str]:
    raw = await hub.scalar(
        "SELECT audience FROM events WHERE type = 'CONSENT_WITHDRAWN' AND subject_id = :id",
        id=consent_id,
    )
    audience: list[str] = json.loads(raw) if isinstance(raw, str) else raw
    return audience


async def test_a_withdrawal_reaches_every_holder_and_the_owner_sees_who_acknowledged(
    hub: RunningHub,
) -> None:
    org = {key: m.organization_id for key, m in hub.members.items()}
    created = await hub.gql(
        OWNER, CREATE, {"input": {"ageBand": "AGE_30_38", "sex": "MALE", "survivor": SURVIVOR}}
    )
    case_id = created.data["createCase"]["id"]
    # Given consent naming legal aid, the shelter and an NGO in Malaysia
    recipients = [org["adhoc"], org["ccpcr-shelter"], org["ngo-malaysia"]]
    consent = await grant(hub, case_id, purposes=["LEGAL_AID", "SERVICE_REFERRAL"],
                          categories=["IDENTITY", "HEALTH"], recipientOrganizationIds=recipients)
    # and legal aid and the shelter have read the case; the NGO never did
    for member in ("adhoc", "ccpcr-shelter"):
        seen = await hub.gql(member, READ, {"id": case_id})
        assert seen.data["case"]["fullName"] == SURVIVOR["fullName"], seen.body
    holders = sorted([org["adhoc"], org["ccpcr-shelter"]])

    # When the survivor withdraws it
    withdrawn = await hub.gql(OWNER, WITHDRAW, {"id": consent["id"]})
    assert not withdrawn.errors, withdrawn.errors
    assert withdrawn.data["withdrawConsent"]["holders"] == [
        {"organizationId": o, "acknowledgedAt": None} for o in holders
    ]

    # Then the next read by any former recipient finds nothing
    for member in ("adhoc", "ccpcr-shelter", "ngo-malaysia"):
        after = await hub.gql(member, READ, {"id": case_id})
        assert after.codes == ["NOT_FOUND"], member
    # and each holder has a notice and an event addressed to it
    audience = await audience_of_withdrawal(hub, consent["id"])
    assert set(holders) | {org[OWNER]} <= set(audience)
    assert org["embassy-beijing"] not in audience
    for member in ("adhoc", "ccpcr-shelter"):
        notices = await hub.gql(member, NOTICES, {"pending": True})
        assert notices.data["consentWithdrawalNotices"] == [
            {"consentId": consent["id"], "caseId": case_id, "acknowledgedAt": None}
        ]
    silent = await hub.gql("ngo-malaysia", NOTICES, {"pending": False})
    assert silent.data["consentWithdrawalNotices"] == []

    # When legal aid acknowledges (twice: the second changes nothing)
    ack = await hub.gql("adhoc", ACK, {"id": consent["id"]})
    assert not ack.errors, ack.errors
    acknowledged_at = ack.data["acknowledgeConsentWithdrawal"]["acknowledgedAt"]
    assert acknowledged_at is not None
    events = await hub.scalar("SELECT COUNT(*) FROM events")
    again = await hub.gql("adhoc", ACK, {"id": consent["id"]})
    assert again.data["acknowledgeConsentWithdrawal"]["acknowledgedAt"] == acknowledged_at
    assert await hub.scalar("SELECT COUNT(*) FROM events") == events
    # an organisation that held nothing has nothing to acknowledge
    stranger = await hub.gql("embassy-beijing", ACK, {"id": consent["id"]})
    assert stranger.codes == ["NOT_FOUND"]

    # Then the owner sees who has acknowledged and who has not
    shown = await hub.gql(OWNER, HOLDERS, {"id": case_id})
    assert shown.data["consents"] == [
        {
            "id": consent["id"],
            "holders": [
                {"organizationId": o, "acknowledgedAt": acknowledged_at if o == org["adhoc"] else None}
                for o in holders
            ],
        }
    ]
    pending = await hub.gql("adhoc", NOTICES, {"pending": True})
    assert pending.data["consentWithdrawalNotices"] == []
    history = await hub.gql("adhoc", NOTICES, {"pending": False})
    assert history.data["consentWithdrawalNotices"] == [
        {"consentId": consent["id"], "caseId": case_id, "acknowledgedAt": acknowledged_at}
    ]
