"""A permission test generated from the live schema, so a field added later is covered
without anyone writing a test for it.

The schema is walked (strawberry -> graphql-core types). Every query, mutation and
subscription root field whose result reaches a survivor-bearing type (a case, referral,
repatriation request, consent, disclosure or webhook type) is called with a selection built
from the schema itself: every leaf field and every nested object, the survivor's fields
included. Every edge into such a type (``referral.case``, ``repatriationRequest.case``, …)
is walked from a root. Four callers must get nothing:

- no party: members that have nothing to do with the survivor;
- no scope: the right organisations with a token lacking the scope;
- no consent: the right organisations after the survivor withdrew her consent;
- no standing: the right organisations, suspended (their tokens from before).

"Nothing" is: no survivor marker planted in the world and no id of a planted object in the
response, errors only with the documented refusal codes; for an edge, the edge is null.
A root field or edge the tables below do not know fails the test: say how to fill its
arguments, or why it carries no survivor data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
)
from sqlalchemy import update
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from cases.deadlines import run_deadlines
from cases.intervention_models import InterventionRequest
from cases.models import Referral, RepatriationRequest
from schema.build import build_schema
from tests.api.event_support import TRANSPORT_WS
from tests.network import RunningHub

MARK = "zq-gen-perm-9Wm3"
OWNER = "adhoc"
RECEIVER = "ccpcr-shelter"
SURVIVOR_TYPES = frozenset(
    {
        "Case",
        "Referral",
        "RepatriationRequest",
        "ConsentGrant",
        "Withdrawal",
        "HolderNotice",
        "Disclosure",
        "WithdrawalNotice",
        "Webhook",
        "WebhookCreated",
        "WebhookDelivery",
        "CaseTransfer",
        "CaseAssessment",
        "FamilyAssessment",
        "LegalCase",
        "InterventionRequest",
        "FamilyConsentBasis",
        "ReintegrationPlan",
        # A note on a late item is typed by people and may name her: swept like her data.
        "DeskNote",
        "AttachedDocument",
    }
)
REFUSALS = frozenset({"NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED", "INVALID_TRANSITION"})

# How to call each root field that reaches survivor data: GraphQL argument text, with
# {placeholders} filled from the planted world. None: the field takes no arguments.
ARGUMENTS: dict[tuple[str, str], str | None] = {
    ("Query", "case"): 'id: "{case}"',
    ("Query", "cases"): None,
    ("Query", "consents"): 'caseId: "{case}"',
    ("Query", "disclosures"): 'caseId: "{case}"',
    ("Query", "consentWithdrawalNotices"): "pendingOnly: false",
    ("Query", "referral"): 'id: "{referral}"',
    ("Query", "referrals"): "box: INBOX",
    ("Query", "repatriationRequest"): 'id: "{request}"',
    ("Query", "repatriationRequests"): "box: INBOX",
    ("Query", "webhooks"): None,
    # Events reach no survivor type, but they are a door: called like the rest.
    ("Query", "events"): 'after: "0"',
    ("Query", "webhookDeliveries"): 'webhookId: "{webhook}"',
    ("Mutation", "createCase"): "input: {ageBand: AGE_18_20, sex: FEMALE}",
    ("Mutation", "updateCaseStatus"): 'caseId: "{case}", status: CLOSED',
    ("Mutation", "recordConsent"): (
        'input: {caseId: "{case}", grantor: SURVIVOR, method: WRITTEN, '
        "purposes: [SERVICE_REFERRAL], categories: [HEALTH], recipientKinds: [SERVICE_PROVIDER]}"
    ),
    ("Mutation", "withdrawConsent"): 'consentId: "{consent}", reason: "test"',
    ("Mutation", "acknowledgeConsentWithdrawal"): 'consentId: "{consent}"',
    ("Mutation", "sendReferral"): (
        'input: {caseId: "{case}", receivingOrganizationId: "{receiver}", services: [PSYCHOSOCIAL], '
        'urgency: URGENT, reason: "again", idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "acknowledgeReferral"): 'id: "{referral}"',
    ("Mutation", "acceptReferral"): 'id: "{referral}"',
    ("Mutation", "declineReferral"): 'id: "{referral}", reason: "test"',
    ("Mutation", "holdReferral"): 'id: "{referral}", reason: "test"',
    ("Mutation", "startReferral"): 'id: "{referral}"',
    (
        "Mutation",
        "completeReferral",
    ): 'id: "{referral}", outcome: {servicesDelivered: [PSYCHOSOCIAL]}',
    ("Mutation", "failReferral"): 'id: "{referral}", reason: "test"',
    ("Mutation", "cancelReferral"): 'id: "{referral}", reason: "test"',
    ("Mutation", "requestRepatriation"): (
        'input: {caseId: "{case}", embassyId: "{embassy}", receivingOrganizationId: "{mosavy}", '
        'currentCountry: "TH", situation: SHELTER, documentsHeld: [NONE], assistanceNeeded: '
        '[ESCORT], urgency: URGENT, idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "acknowledgeRepatriation"): 'id: "{request}"',
    ("Mutation", "updateRepatriation"): 'id: "{request}", status: VERIFYING',
    ("Mutation", "confirmHandover"): 'id: "{request}"',
    ("Mutation", "rejectRepatriation"): 'id: "{request}", reason: "test"',
    ("Mutation", "cancelRepatriation"): 'id: "{request}", reason: "test"',
    ("Mutation", "recordTravelPlan"): 'id: "{request}", input: {date: "2027-02-01", route: "x"}',
    ("Mutation", "recordRepatriationCost"): (
        'id: "{request}", input: {item: OTHER, amount: "10.00", currency: "USD"}'
    ),
    ("Mutation", "createWebhook"): 'input: {url: "https://hooks.example.org/x", topics: [CASE]}',
    ("Mutation", "updateWebhook"): 'id: "{webhook}", input: {topics: [CASE, REFERRAL]}',
    ("Mutation", "disableWebhook"): 'id: "{webhook}"',
    ("Mutation", "enableWebhook"): 'id: "{webhook}"',
    ("Mutation", "rotateWebhookSecret"): 'id: "{webhook}"',
    ("Query", "legalCase"): 'id: "{legal}"',
    ("Query", "legalCases"): None,
    ("Mutation", "openLegalCase"): (
        'input: {caseIds: ["{case}"], legalAidOrganizationId: "{adhoc}", court: "x", '
        'complaintFiledOn: "2026-10-01", idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "linkCaseToLegalCase"): 'legalCaseId: "{legal}", caseId: "{case}"',
    ("Mutation", "recordSurvivorCompensation"): (
        'legalCaseId: "{legal}", caseId: "{case}", '
        'input: {stage: AWARDED, amount: "1.00", currency: "USD"}'
    ),
    ("Mutation", "unlinkCaseFromLegalCase"): (
        'legalCaseId: "{legal}", caseId: "{case}", reason: "test"'
    ),
    ("Mutation", "updateLegalCase"): 'id: "{legal}", status: CLOSED, reason: "test"',
    (
        "Mutation",
        "recordJudgment",
    ): 'id: "{legal}", input: {verdict: CONVICTED, date: "2026-11-01"}',
    ("Mutation", "recordCompensation"): (
        'id: "{legal}", input: {stage: AWARDED, amount: "10.00", currency: "USD"}'
    ),
    ("Mutation", "recordHearing"): (
        'legalCaseId: "{legal}", input: {date: "2026-11-02T09:00:00Z", court: "x", '
        'transportProvided: true, accommodationProvided: true, idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "recordHearingOutcome"): 'hearingId: "{hearing}", outcomeNote: "test"',
    ("Query", "interventionRequest"): 'id: "{intervention}"',
    ("Query", "interventionRequests"): "box: INBOX",
    ("Query", "incidentGroup"): 'id: "{group}"',
    ("Query", "incidentGroups"): None,
    ("Query", "groupRepatriation"): 'id: "{outing}"',
    ("Query", "familyConsentBasis"): 'consentId: "{family_consent}"',
    ("Mutation", "requestIntervention"): (
        'input: {caseId: "{case}", embassyId: "{embassy}", currentCountry: "TH", '
        'reportedBy: FAMILY, urgency: URGENT, idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "updateIntervention"): 'id: "{intervention}", status: ACKNOWLEDGED',
    ("Mutation", "requestRepatriationFromIntervention"): (
        'interventionId: "{intervention}", input: {receivingOrganizationId: "{mosavy}", '
        "situation: SHELTER, documentsHeld: [NONE], assistanceNeeded: [ESCORT], urgency: URGENT, "
        'idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "createIncidentGroup"): (
        'input: {kind: OTHER, country: "TH", idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "addCaseToGroup"): 'groupId: "{group}", caseId: "{case}"',
    ("Mutation", "requestGroupRepatriation"): (
        'input: {groupId: "{group}", embassyId: "{embassy}", receivingOrganizationId: "{mosavy}", '
        'currentCountry: "TH", situation: SHELTER, documentsHeld: [NONE], assistanceNeeded: '
        '[ESCORT], urgency: URGENT, idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "recordGroupTravelPlan"): (
        'id: "{outing}", input: {date: "2027-02-01", route: "x"}'
    ),
    ("Query", "reintegrationPlan"): 'id: "{plan}"',
    ("Query", "reintegrationPlans"): None,
    # Funding reaches no survivor type, but names the request: called like the rest.
    ("Query", "funding"): 'subjectKind: REPATRIATION_REQUEST, subjectId: "{request}"',
    ("Mutation", "createReintegrationPlan"): (
        'input: {caseId: "{case}", services: [{kind: SCHOOL_ENROLMENT, '
        'providerOrganizationId: "{receiver}"}], idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "addReintegrationService"): (
        'planId: "{plan}", input: {kind: JOB_PLACEMENT, providerOrganizationId: "{receiver}"}'
    ),
    ("Mutation", "startReintegrationService"): 'id: "{service}"',
    ("Mutation", "completeReintegrationService"): 'id: "{service}"',
    ("Mutation", "endReintegrationService"): 'id: "{service}", reason: "test"',
    ("Mutation", "cancelReintegrationPlan"): 'id: "{plan}", reason: "test"',
    ("Mutation", "scheduleFollowUpVisit"): 'planId: "{plan}", dueAt: "2030-01-01T00:00:00+00:00"',
    ("Mutation", "recordFollowUpVisit"): 'id: "{visit}", input: {outcome: SEEN}',
    ("Mutation", "cancelFollowUpVisit"): 'id: "{visit}", reason: "test"',
    ("Mutation", "nameFunder"): (
        'subjectKind: REPATRIATION_REQUEST, subjectId: "{request}", '
        'funderOrganizationId: "{receiver}"'
    ),
    ("Mutation", "removeFunder"): (
        'subjectKind: REPATRIATION_REQUEST, subjectId: "{request}", '
        'funderOrganizationId: "{receiver}"'
    ),
    ("Mutation", "recordCost"): (
        'subjectKind: REPATRIATION_REQUEST, subjectId: "{request}", '
        'input: {item: FOOD, amount: "1.00", currency: "USD"}'
    ),
    ("Subscription", "caseStatus"): 'caseId: "{case}", after: "0"',
    ("Subscription", "referralUpdates"): 'box: INBOX, after: "0"',
    ("Subscription", "events"): 'after: "0"',
    ("Query", "caseTransfer"): 'id: "{transfer}"',
    ("Query", "caseTransfers"): "box: INBOX",
    ("Query", "custodyHistory"): 'caseId: "{case}"',
    ("Mutation", "transferCase"): (
        'input: {caseId: "{case}", toOrganizationId: "{mosavy}", reason: "test", '
        'idempotencyKey: "gen-perm-{n}"}'
    ),
    ("Mutation", "acceptCaseTransfer"): 'id: "{transfer}"',
    ("Mutation", "declineCaseTransfer"): 'id: "{transfer}", reason: "test"',
    ("Mutation", "cancelCaseTransfer"): 'id: "{transfer}"',
    ("Query", "caseAssessment"): 'caseId: "{case}"',
    ("Query", "familyAssessment"): 'repatriationId: "{request}"',
    ("Mutation", "recordAssessment"): (
        'input: {caseId: "{case}", needs: [SHELTER], risks: [OTHER], identification: PENDING, '
        "assessorRole: OTHER}"
    ),
    ("Mutation", "recordFamilyAssessment"): (
        'repatriationId: "{request}", input: {familyTraced: false, safeToReturn: false, '
        'safetyReasons: "test"}'
    ),
    ("Mutation", "eraseCaseData"): (
        'input: {caseId: "{case}", reason: "test", idempotencyKey: "gen-perm-{n}"}'
    ),
    # The coordinator's desk: metadata of late items, reached by no survivor type, but a door
    # to the planted request: called like the rest.
    ("Query", "networkOverview"): None,
    ("Query", "deskItem"): 'kind: REPATRIATION_REQUEST, id: "{request}"',
    ("Query", "deskNotes"): 'kind: REPATRIATION_REQUEST, id: "{request}"',
    ("Query", "deskNotices"): None,
    ("Mutation", "remindOrganization"): 'kind: REPATRIATION_REQUEST, id: "{request}"',
    ("Mutation", "addDeskNote"): 'kind: REPATRIATION_REQUEST, id: "{request}", text: "test"',
    # Case links carry ids only; a case id is no hint and no link id: refused for everyone.
    ("Query", "caseLinks"): None,
    ("Mutation", "requestCaseLink"): 'hint: "{case}"',
    ("Mutation", "answerCaseLink"): 'id: "{case}", accept: true',
}
# Root fields that reach no survivor type, and why that is so.
NO_SURVIVOR_DATA: dict[tuple[str, str], str] = {
    ("Query", "_entities"): "federation entities: organisations only",
    ("Query", "_service"): "the SDL",
    ("Query", "viewer"): "the caller's own organisation and client",
    ("Query", "organizations"): "membership directory",
    ("Query", "organization"): "membership directory",
    ("Query", "services"): "service directory",
    ("Mutation", "registerOrganization"): "membership lifecycle",
    ("Mutation", "activateOrganization"): "membership lifecycle",
    ("Mutation", "suspendOrganization"): "membership lifecycle",
    ("Mutation", "reinstateOrganization"): "membership lifecycle",
    ("Mutation", "revokeMembership"): "membership lifecycle",
    ("Mutation", "createClient"): "OAuth clients",
    ("Mutation", "rotateClientSecret"): "OAuth clients",
    ("Mutation", "disableClient"): "OAuth clients",
    ("Mutation", "registerClientKeys"): "OAuth clients",
    ("Mutation", "publishService"): "service directory",
    ("Mutation", "issueRegistrationToken"): "onboarding: a token for an organisation",
    ("Mutation", "deleteWebhook"): "answers the deleted webhook's id only",
    ("Query", "costReport"): "sums per funder, subject kind, item and currency: no subject named",
    ("Query", "statistics"): "counts suppressed below k survivors: no case, no survivor named",
}
# Every edge into a survivor type: the root that leads to its parent (as a caller with the
# parent's scope) and the scope the edge's own type needs in addition. None: the edge's
# type needs no scope beyond its root's, so the root scenarios cover it.
EDGES: dict[tuple[str, str], tuple[str, str, str] | None] = {
    ("Referral", "case"): ('referral(id: "{referral}")', RECEIVER, "referrals:read"),
    ("RepatriationRequest", "case"): (
        'repatriationRequest(id: "{request}")',
        "embassy-bangkok",
        "repatriation:read",
    ),
    ("ReferralEdge", "node"): None,
    ("CaseEdge", "node"): None,
    ("RepatriationEdge", "node"): None,
    ("ReintegrationPlanEdge", "node"): None,
    ("ConsentGrant", "withdrawal"): None,
    ("ConsentGrant", "holders"): None,
    ("WebhookCreated", "webhook"): None,
    # A transfer is read with `cases:read`, the case's own scope: the root scenarios cover it.
    ("CaseTransfer", "case"): None,
    ("CaseTransferEdge", "node"): None,
    # A legal case and the cases it links are both read with `cases:read`.
    ("LegalCaseSurvivor", "case"): None,
    ("LegalCaseEdge", "node"): None,
    ("InterventionRequest", "case"): (
        'interventionRequest(id: "{intervention}")',
        "embassy-bangkok",
        "repatriation:read",
    ),
    ("InterventionEdge", "node"): None,
    # The group and its cases are read with the same scope (cases:read); the requests of a
    # group repatriation with the same scope as the group repatriation (repatriation:read).
    ("IncidentGroup", "cases"): None,
    ("GroupRepatriation", "requests"): None,
    # Documents (case.documents, repatriationRequest.documents, legalCase.documents) are
    # listed with the read scope of the object they hang on.
    ("AttachedDocumentEdge", "node"): None,
}

LIVE: GraphQLSchema = build_schema(introspection=True)._schema


def _roots(schema: GraphQLSchema) -> Iterator[tuple[str, str, GraphQLField]]:
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        for name, field in root.fields.items():
            yield root.name, name, field


def _reaches(named: GraphQLNamedType, seen: set[str] | None = None) -> bool:
    seen = seen if seen is not None else set()
    if named.name in SURVIVOR_TYPES:
        return True
    if named.name in seen:
        return False
    seen.add(named.name)
    if isinstance(named, GraphQLUnionType):
        return any(_reaches(t, seen) for t in named.types)
    if isinstance(named, GraphQLObjectType):
        return any(_reaches(get_named_type(f.type), seen) for f in named.fields.values())
    return False


def selection(named: GraphQLNamedType, depth: int = 0, path: tuple[str, ...] = ()) -> str:
    """Every leaf and nested object of ``named`` (no cycles, a few levels deep)."""
    if not isinstance(named, GraphQLObjectType):
        return "__typename"
    parts = []
    for name, field in named.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif isinstance(inner, GraphQLObjectType) and depth < 4 and inner.name not in path:
            parts.append(f"{name} {{ {selection(inner, depth + 1, (*path, named.name))} }}")
    return " ".join(parts) or "__typename"


EVENT_TYPES = frozenset({"Event", "EventPage"})


def _returns(root: str, name: str) -> str:
    types = {"Query": LIVE.query_type, "Mutation": LIVE.mutation_type}
    parent = types.get(root) or LIVE.subscription_type
    assert parent is not None
    return get_named_type(parent.fields[name].type).name


def survivor_roots() -> list[tuple[str, str]]:
    return [(r, n) for r, n, f in _roots(LIVE) if _reaches(get_named_type(f.type))]


def called_roots() -> list[tuple[str, str]]:
    """Every root field the tables say how to call, in schema order."""
    return [(r, n) for r, n, _ in _roots(LIVE) if (r, n) in ARGUMENTS]


def survivor_edges() -> list[tuple[str, str]]:
    roots = {LIVE.query_type, LIVE.mutation_type, LIVE.subscription_type}
    found = []
    for type_name, named in LIVE.type_map.items():
        if type_name.startswith("__") or named in roots or not isinstance(named, GraphQLObjectType):
            continue
        for field_name, field in named.fields.items():
            if get_named_type(field.type).name in SURVIVOR_TYPES:
                found.append((type_name, field_name))
    return found


def test_every_root_field_and_edge_is_known_to_the_generator() -> None:
    roots = set(survivor_roots())
    unknown = sorted(roots - set(ARGUMENTS))
    assert not unknown, f"say how to fill the arguments of {unknown} in ARGUMENTS"
    rest = {(r, n) for r, n, _ in _roots(LIVE)} - roots
    unexplained = sorted(rest - set(NO_SURVIVOR_DATA) - set(ARGUMENTS))
    assert not unexplained, f"new root fields {unexplained}: add them to a table"
    edges = sorted(set(survivor_edges()) - set(EDGES))
    assert not edges, f"say how to reach the edges {edges} in EDGES"
    # and the tables name nothing the schema no longer has
    assert set(ARGUMENTS) <= {(r, n) for r, n, _ in _roots(LIVE)}
    assert set(EDGES) <= set(survivor_edges())


def test_the_selection_includes_every_survivor_field_of_a_case() -> None:
    case = LIVE.type_map["Case"]
    built = selection(case).split()
    for name in ("fullName", "phone", "healthNotes", "legalNotes", "currentLocation"):
        assert name in built


# ---------------------------------------------------------------- the planted world


@dataclass
class World:
    ids: dict[str, str]
    planted: list[str]  # ids no denied caller may see
    # ids the parties see only while the survivor's consent covers them (documents)
    consented: list[str] = dataclasses.field(default_factory=list)

    def fill(self, text: str | None, n: int) -> str:
        if text is None:
            return ""
        values = {**self.ids, "n": str(n)}
        filled = text
        for key, value in values.items():
            filled = filled.replace("{" + key + "}", value)
        return f"({filled})"


async def ok(hub: RunningHub, who: str, query: str, variables: dict[str, Any]) -> Any:
    result = await hub.gql(who, query, variables)
    assert not result.errors, result.errors
    return result.data


async def plant(hub: RunningHub) -> World:
    """ADHOC's case full of markers, consented to the shelter (service referral), the
    embassy in Bangkok and the Ministry (repatriation); a referral to the shelter and a
    request to the embassy full of markers; a webhook; an offer of the case to the shelter; an assessment and a family assessment."""
    org = {k: m.organization_id for k, m in hub.members.items()}
    survivor = {
        "fullName": f"Srey {MARK}-name",
        "phone": f"+855 {MARK}-phone",
        "healthNotes": f"{MARK}-health",
        "legalNotes": f"{MARK}-legal",
        "currentLocation": f"{MARK}-where",
        "recruitmentNotes": f"{MARK}-recruit",
    }
    created = await ok(
        hub,
        OWNER,
        "mutation($s: SurvivorDataInput!) { createCase(input: "
        "{ageBand: AGE_24_26, sex: FEMALE, survivor: $s, note: $n}) { id } }".replace(
            "$s: SurvivorDataInput!", "$s: SurvivorDataInput!, $n: String"
        ),
        {"s": survivor, "n": f"{MARK}-status-note"},
    )
    case_id = created["createCase"]["id"]
    consent_ids = []
    for purpose, members in (
        ("SERVICE_REFERRAL", [RECEIVER]),
        ("REPATRIATION", ["embassy-bangkok", "mosavy"]),
        ("FOLLOW_UP", [RECEIVER]),
    ):
        recorded = await ok(
            hub,
            OWNER,
            "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }",
            {
                "input": {
                    "caseId": case_id,
                    "grantor": "SURVIVOR",
                    "method": "WRITTEN",
                    "purposes": [purpose],
                    "categories": [
                        "IDENTITY",
                        "CONTACT",
                        "HEALTH",
                        "LEGAL",
                        "LOCATION",
                        "TRAFFICKING_EXPERIENCE",
                    ],
                    "recipientOrganizationIds": [org[m] for m in members],
                }
            },
        )
        consent_ids.append(recorded["recordConsent"]["id"])
    referral = await ok(
        hub,
        OWNER,
        "mutation($input: SendReferralInput!) { sendReferral(input: $input) { id } }",
        {
            "input": {
                "caseId": case_id,
                "receivingOrganizationId": org[RECEIVER],
                "services": ["PSYCHOSOCIAL"],
                "urgency": "URGENT",
                "reason": f"{MARK}-reason",
                "notes": f"{MARK}-notes",
                "idempotencyKey": "gen-perm-plant-1",
            }
        },
    )
    rid = referral["sendReferral"]["id"]
    await ok(
        hub, RECEIVER, "mutation($id: ID!) { acknowledgeReferral(id: $id) { id } }", {"id": rid}
    )
    await ok(
        hub,
        RECEIVER,
        'mutation($id: ID!) { holdReferral(id: $id, reason: "x", reasonCategory: HEALTH) '
        "{ id } }".replace('"x"', json.dumps(f"{MARK}-hold")),
        {"id": rid},
    )
    request = await ok(
        hub,
        OWNER,
        "mutation($input: RequestRepatriationInput!) { requestRepatriation(input: $input) { id } }",
        {
            "input": {
                "caseId": case_id,
                "embassyId": org["embassy-bangkok"],
                "receivingOrganizationId": org["mosavy"],
                "currentCountry": "TH",
                "situation": "SHELTER",
                "documentsHeld": ["NONE"],
                "assistanceNeeded": ["ESCORT"],
                "urgency": "URGENT",
                "idempotencyKey": "gen-perm-plant-2",
                "notes": f"{MARK}-repat-notes",
            }
        },
    )
    qid = request["requestRepatriation"]["id"]
    await ok(
        hub,
        "embassy-bangkok",
        "mutation($id: ID!, $input: TravelPlanInput!) { recordTravelPlan(id: $id, input: $input) "
        "{ id } }",
        {"id": qid, "input": {"date": "2027-01-15", "route": f"{MARK}-route"}},
    )
    # An intervention on the same case (consent covers the embassy), and the case in a group
    # brought home as a group: the embassy becomes a member of the group.
    intervention = await ok(
        hub,
        OWNER,
        "mutation($input: RequestInterventionInput!) { requestIntervention(input: $input) { id } }",
        {
            "input": {
                "caseId": case_id,
                "embassyId": org["embassy-bangkok"],
                "currentCountry": "TH",
                "reportedBy": "SELF",
                "urgency": "URGENT",
                "idempotencyKey": "gen-perm-plant-3",
                "lastKnownLocation": f"{MARK}-last-seen",
            }
        },
    )
    iid = intervention["requestIntervention"]["id"]
    await ok(
        hub,
        "embassy-bangkok",
        "mutation($id: ID!, $n: String) { updateIntervention(id: $id, status: ACKNOWLEDGED) "
        "{ id } r: updateIntervention(id: $id, status: NOT_FOUND, note: $n) { id } }",
        {"id": iid, "n": f"{MARK}-not-found-note"},
    )
    group = await ok(
        hub,
        OWNER,
        'mutation { createIncidentGroup(input: {kind: FISHING_VESSEL, country: "TH", '
        'idempotencyKey: "gen-perm-plant-4"}) { id } }',
        {},
    )
    gid = group["createIncidentGroup"]["id"]
    await ok(
        hub,
        OWNER,
        "mutation($g: ID!, $c: ID!) { addCaseToGroup(groupId: $g, caseId: $c) { id } }",
        {"g": gid, "c": case_id},
    )
    outing = await ok(
        hub,
        OWNER,
        "mutation($input: RequestGroupRepatriationInput!) { requestGroupRepatriation(input: "
        "$input) { groupRepatriation { id requests { id } } refused { caseId } } }",
        {
            "input": {
                "groupId": gid,
                "embassyId": org["embassy-bangkok"],
                "receivingOrganizationId": org["mosavy"],
                "currentCountry": "TH",
                "situation": "SHELTER",
                "documentsHeld": ["NONE"],
                "assistanceNeeded": ["ESCORT"],
                "urgency": "URGENT",
                "idempotencyKey": "gen-perm-plant-5",
                "notes": f"{MARK}-group-notes",
            }
        },
    )
    made = outing["requestGroupRepatriation"]["groupRepatriation"]
    assert outing["requestGroupRepatriation"]["refused"] == [] and len(made["requests"]) == 1
    # Another person, still abroad, on her mother's consent with its basis.
    abroad = await ok(
        hub, OWNER, "mutation { createCase(input: {ageBand: AGE_18_20, sex: FEMALE}) { id } }", {}
    )
    family = await ok(
        hub,
        OWNER,
        "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }",
        {
            "input": {
                "caseId": abroad["createCase"]["id"],
                "grantor": "FAMILY",
                "method": "VERBAL",
                "purposes": ["REPATRIATION"],
                "categories": ["IDENTITY"],
                "recipientOrganizationIds": [org["embassy-bangkok"]],
                "familyBasis": {
                    "reportedBy": f"{MARK}-mother",
                    "relationship": "PARENT",
                    "whyNotSelf": f"{MARK}-held",
                },
            }
        },
    )
    # The receivers have read the case: disclosures exist, the withdrawal notifies them.
    for member in (RECEIVER, "embassy-bangkok"):
        await ok(hub, member, "query($id: ID!) { case(id: $id) { fullName } }", {"id": case_id})
    reintegration = await plant_plan(hub, case_id, org[RECEIVER])
    await ok(
        hub,
        OWNER,
        "mutation($id: ID!) { recordCost(subjectKind: REPATRIATION_REQUEST, subjectId: $id, "
        'input: {item: FOOD, amount: "12.00", currency: "THB"}) { subjectId } }',
        {"id": qid},
    )
    hook = await ok(
        hub,
        OWNER,
        'mutation { createWebhook(input: {url: "https://hooks.example.org/kk", topics: [CASE]}) '
        "{ webhook { id } } }",
        {},
    )
    await ok(
        hub,
        OWNER,
        "mutation($input: AssessmentInput!) { recordAssessment(input: $input) { id } }",
        {
            "input": {
                "caseId": case_id,
                "needs": ["MEDICAL"],
                "needsNote": f"{MARK}-needs",
                "risks": ["RE_TRAFFICKING"],
                "risksNote": f"{MARK}-risks",
                "identification": "IDENTIFIED",
                "identificationNote": f"{MARK}-basis",
                "assessorRole": "SOCIAL_WORKER",
            }
        },
    )
    await ok(
        hub,
        "mosavy",
        "mutation($id: ID!, $input: FamilyAssessmentInput!) { recordFamilyAssessment("
        "repatriationId: $id, input: $input) { id } }",
        {
            "id": qid,
            "input": {
                "familyTraced": True,
                "familyNote": f"{MARK}-family",
                "safeToReturn": True,
                "safetyReasons": f"{MARK}-safety",
            },
        },
    )
    transfer = await ok(
        hub,
        OWNER,
        "mutation($input: TransferCaseInput!) { transferCase(input: $input) { id } }",
        {
            "input": {
                "caseId": case_id,
                "toOrganizationId": org[RECEIVER],
                "reason": f"{MARK}-transfer",
                "idempotencyKey": "gen-perm-plant-3",
            }
        },
    )
    # A legal case ADHOC follows for its own survivor, before the court, with a hearing
    # whose outcome note carries the marker.
    legal = await ok(
        hub,
        OWNER,
        "mutation($input: OpenLegalCaseInput!) { openLegalCase(input: $input) { id } }",
        {
            "input": {
                "caseIds": [case_id],
                "legalAidOrganizationId": org[OWNER],
                "court": "Phnom Penh Municipal Court",
                "complaintFiledOn": "2026-10-01",
                "idempotencyKey": "gen-perm-plant-4",
            }
        },
    )
    lid = legal["openLegalCase"]["id"]
    for status in ("INVESTIGATION", "COURT"):
        await ok(
            hub,
            OWNER,
            "mutation($id: ID!, $s: LegalCaseStatus!) { updateLegalCase(id: $id, status: $s) "
            "{ id } }",
            {"id": lid, "s": status},
        )
    await ok(
        hub,
        OWNER,
        "mutation($id: ID!, $input: HearingInput!) { recordHearing(legalCaseId: $id, "
        "input: $input) { hearings { id } } }",
        {
            "id": lid,
            "input": {
                "date": "2026-11-02T09:00:00Z",
                "court": "Phnom Penh Municipal Court",
                "transportProvided": True,
                "accommodationProvided": False,
                "outcomeNote": f"{MARK}-hearing",
                "idempotencyKey": "gen-perm-hearing-1",
            },
        },
    )
    ids = {
        "transfer": transfer["transferCase"]["id"],
        "case": case_id,
        "legal": lid,
        # A second hearing, its outcome not yet recorded: the outcome mutation's target.
        "hearing": await _hearing_ahead(hub, lid),
        "referral": rid,
        "request": qid,
        "consent": consent_ids[0],
        "intervention": iid,
        "group": gid,
        "outing": made["id"],
        "family_consent": family["recordConsent"]["id"],
        "webhook": hook["createWebhook"]["webhook"]["id"],
        **{k.replace("-", "_"): v for k, v in org.items()},
        "receiver": org[RECEIVER],
        "embassy": org["embassy-bangkok"],
        "mosavy": org["mosavy"],
        **reintegration,
    }
    planted = [
        case_id,
        rid,
        qid,
        lid,
        ids["hearing"],
        *consent_ids,
        ids["webhook"],
        ids["transfer"],
    ]
    planted += [iid, gid, made["id"]]
    planted += [r["id"] for r in made["requests"]]
    planted += [abroad["createCase"]["id"], family["recordConsent"]["id"]]
    planted += [*reintegration.values()]
    documents = await plant_documents(hub, case_id, qid, lid)
    return World(ids, planted + documents, documents)


async def plant_documents(
    hub: RunningHub, case_id: str, request_id: str, legal_id: str
) -> list[str]:
    """A medical report on the case, identity papers on the request, evidence on the legal
    case, all attached by the owner: listed to other parties only under consent."""
    token = await hub.token(OWNER)
    ids = []
    for n, (kind, subject, category) in enumerate(
        (
            ("CASE", case_id, "MEDICAL"),
            ("REPATRIATION_REQUEST", request_id, "IDENTITY_PAPERS"),
            ("LEGAL_CASE", legal_id, "EVIDENCE"),
        )
    ):
        sent = await hub.http.post(
            "/documents",
            params={"subjectType": kind, "subjectId": subject, "category": category}
            | ({"caseId": case_id} if kind == "LEGAL_CASE" else {}),
            content=b"%PDF-1.4\n%" + MARK.encode() + b"\n%%EOF\n",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"gen-perm-doc-{n}"},
        )
        assert sent.status_code == 201, sent.text
        ids.append(str(sent.json()["id"]))
    return ids


async def _hearing_ahead(hub: RunningHub, legal_id: str) -> str:
    scheduled = await ok(
        hub,
        OWNER,
        "mutation($id: ID!, $input: HearingInput!) { recordHearing(legalCaseId: $id, "
        "input: $input) { hearings { id outcomeNote } } }",
        {
            "id": legal_id,
            "input": {
                "date": "2027-02-02T09:00:00Z",
                "court": "Phnom Penh Municipal Court",
                "transportProvided": False,
                "accommodationProvided": False,
                "idempotencyKey": "gen-perm-hearing-2",
            },
        },
    )
    (ahead,) = [h for h in scheduled["recordHearing"]["hearings"] if h["outcomeNote"] is None]
    hearing_id: str = ahead["id"]
    return hearing_id


async def plant_plan(hub: RunningHub, case_id: str, provider: str) -> dict[str, str]:
    """A reintegration plan on the case: one service ended with a marked reason, one still
    planned; a visit recorded with a marked note, and the next one scheduled."""
    created = await ok(
        hub,
        OWNER,
        "mutation($input: CreateReintegrationPlanInput!) { createReintegrationPlan("
        "input: $input) { id services { id } } }",
        {
            "input": {
                "caseId": case_id,
                "services": [
                    {"kind": "VOCATIONAL_TRAINING", "providerOrganizationId": provider},
                    {"kind": "SCHOOL_ENROLMENT", "providerOrganizationId": provider},
                ],
                "idempotencyKey": "gen-perm-plan-1",
            }
        },
    )
    plan = created["createReintegrationPlan"]
    ended, service = (s["id"] for s in plan["services"])
    await ok(
        hub,
        provider_key(hub, provider),
        "mutation($id: ID!, $r: String!) { endReintegrationService(id: $id, reason: $r) { id } }",
        {"id": ended, "r": f"{MARK}-ended"},
    )
    scheduled = await ok(
        hub,
        OWNER,
        "mutation($id: ID!, $v: ID) { scheduleFollowUpVisit(planId: $id, dueAt: "
        '"2030-01-01T00:00:00+00:00", visitorOrganizationId: $v) { visits { id } } }',
        {"id": plan["id"], "v": provider},
    )
    first = scheduled["scheduleFollowUpVisit"]["visits"][0]["id"]
    recorded = await ok(
        hub,
        provider_key(hub, provider),
        "mutation($id: ID!, $note: String) { recordFollowUpVisit(id: $id, input: {outcome: "
        'SAFE, note: $note, nextDueAt: "2030-06-01T00:00:00+00:00"}) { visits { id status } } }',
        {"id": first, "note": f"{MARK}-visit"},
    )
    (visit,) = [
        v["id"] for v in recorded["recordFollowUpVisit"]["visits"] if v["status"] == "SCHEDULED"
    ]
    return {"plan": plan["id"], "service": service, "visit": visit, "first_visit": first}


def provider_key(hub: RunningHub, organization_id: str) -> str:
    return next(k for k, m in hub.members.items() if m.organization_id == organization_id)


# ---------------------------------------------------------------- running every field


def operation(root: str, name: str, world: World, n: int) -> str:
    types = {"Query": LIVE.query_type, "Mutation": LIVE.mutation_type}
    parent = types.get(root) or LIVE.subscription_type
    assert parent is not None
    gql_field = parent.fields[name]
    keyword = {"Query": "query", "Mutation": "mutation", "Subscription": "subscription"}[root]
    args = world.fill(ARGUMENTS[(root, name)], n)
    return f"{keyword} {{ {name}{args} {{ {selection(get_named_type(gql_field.type))} }} }}"


def leaked(body: Any, world: World, *, ids: bool = True) -> list[str]:
    text = json.dumps(body)
    found = [MARK] if MARK in text else []
    if ids:
        found += [i for i in world.planted if i in text]
    return found


async def subscribe(hub: RunningHub, token: str | None, query: str) -> list[dict[str, Any]]:
    """Start a subscription and collect what arrives in a short while (the replay from
    `after: "0"` would come at once); a refused socket counts as nothing received."""
    seen: list[dict[str, Any]] = []
    try:
        async with connect(hub.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            async with asyncio.timeout(1.0):
                while True:
                    seen.append(json.loads(await ws.recv()))
    except (TimeoutError, ConnectionClosed):
        pass
    return seen


async def call_everything(
    hub: RunningHub, world: World, callers: list[tuple[str, str | None]]
) -> list[str]:
    """Every survivor root field for every caller; what leaked, by field and caller."""
    problems = []
    n = 0
    for who, scope in callers:
        token = (
            await hub.token(who, scope=scope) if scope != "suspended" else hub._tokens[(who, None)]
        )
        for root, name in called_roots():
            n += 1
            query = operation(root, name, world, n)
            if root == "Subscription":
                messages = await subscribe(hub, token, query)
                if leaked(messages, world):
                    problems.append(f"{root}.{name} as {who}/{scope}: {leaked(messages, world)}")
                continue
            result = await hub.gql(None, query, token=token)
            codes = set(result.codes) - REFUSALS
            bad = leaked(result.body, world)
            if bad or codes or (result.status not in (200, 401)):
                problems.append(f"{root}.{name} as {who}/{scope}: {bad} {sorted(codes)}")
    return problems


async def test_members_that_are_no_party_get_nothing(hub: RunningHub) -> None:
    world = await plant(hub)
    callers: list[tuple[str, str | None]] = [("ngo-malaysia", None), ("embassy-beijing", None)]
    assert await call_everything(hub, world, callers) == []
    # The owner calling the same fields does see its survivor: the checks see data.
    assert await call_everything(hub, world, [(OWNER, None)])


async def test_the_right_organisations_without_the_scope_get_nothing(hub: RunningHub) -> None:
    world = await plant(hub)
    callers: list[tuple[str, str | None]] = [
        (OWNER, "orgs:read"),
        (RECEIVER, "orgs:read"),
        ("embassy-bangkok", "orgs:read"),
    ]
    assert await call_everything(hub, world, callers) == []
    # and through every edge, a caller holding the parent's scope only gets a null edge
    for (parent, edge), route in EDGES.items():
        if route is None:
            continue
        root, who, scope = route
        target = get_named_type(LIVE.type_map[parent].fields[edge].type)  # type: ignore[attr-defined]
        query = f"{{ {root.format(**world.ids)} {{ id {edge} {{ {selection(target)} }} }} }}"
        result = await hub.gql(None, query, token=await hub.token(who, scope=scope))
        assert not result.errors, (parent, edge, result.errors)
        (value,) = result.data.values()
        assert value["id"] and value[edge] is None, (parent, edge, result.body)
        assert not leaked(result.body, world, ids=False), (parent, edge)


async def test_the_right_organisations_get_nothing_once_consent_is_withdrawn(
    hub: RunningHub,
) -> None:
    world = await plant(hub)
    consents = await ok(
        hub, OWNER, "query($id: ID!) { consents(caseId: $id) { id } }", {"id": world.ids["case"]}
    )
    for grant in consents["consents"]:
        await ok(
            hub,
            OWNER,
            'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "no") { id } }',
            {"id": grant["id"]},
        )
    # The parties still see that the referral and the request exist (their own work), so
    # only survivor data is checked here, not ids.
    problems = []
    n = 1000
    for who in (RECEIVER, "embassy-bangkok", "mosavy"):
        token = await hub.token(who)
        for root, name in called_roots():
            n += 1
            query = operation(root, name, world, n)
            if root == "Subscription":
                body: Any = await subscribe(hub, token, query)
            else:
                result = await hub.gql(None, query, token=token)
                body = result.body
                # CONSENT_REQUIRED: accepting a case her consent no longer covers, or a provider
                # or visitor reporting on a plan.
                allowed = {"BAD_USER_INPUT", "CONFLICT", "CONSENT_REQUIRED"}
                if set(result.codes) - REFUSALS - allowed:
                    problems.append(f"{root}.{name} as {who}: {result.codes}")
            if leaked(body, world, ids=False):
                problems.append(f"{root}.{name} as {who}: survivor data")
            # Events name a document by id and kind to the object's parties (never its
            # content), like every event; every other field lists it only under consent.
            if _returns(root, name) in EVENT_TYPES:
                continue
            if shown := [i for i in world.consented if i in json.dumps(body)]:
                problems.append(f"{root}.{name} as {who}: documents {shown}")
    assert problems == []


async def test_suspended_organisations_get_nothing(hub: RunningHub) -> None:
    world = await plant(hub)
    callers: list[tuple[str, str | None]] = [(RECEIVER, None), ("embassy-bangkok", None)]
    for who, _ in callers:
        await hub.token(who)  # issued while still a member in good standing
    for who, _ in callers:
        await ok(
            hub,
            "secretariat",
            'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }',
            {"id": hub.members[who].organization_id},
        )
    suspended = [(who, "suspended") for who, _ in callers]
    assert await call_everything(hub, world, suspended) == []


async def test_the_coordinator_gets_no_survivor_data_once_her_items_are_escalated(
    hub: RunningHub,
) -> None:
    """The secretariat is told of the planted referral, request and intervention once they
    are late; every field, called as the secretariat, still gives no survivor data."""
    world = await plant(hub)
    past = datetime.now(UTC) - timedelta(hours=2)
    async with hub.db.write() as session:
        await session.execute(
            update(Referral)
            .where(Referral.id == world.ids["referral"])
            .values(acknowledge_by=past, respond_by=past)
            .execution_options(synchronize_session=False)
        )
        for model, key in (
            (RepatriationRequest, "request"),
            (InterventionRequest, "intervention"),
        ):
            await session.execute(
                update(model)
                .where(model.id == world.ids[key])
                .values(acknowledge_by=past)
                .execution_options(synchronize_session=False)
            )
    report = await run_deadlines(hub.db, hub.app.state.hub.cipher, datetime.now(UTC))
    assert report.escalated >= 2
    # The desk does show the escalated request: the sweep below has something to find.
    item = await ok(
        hub,
        "secretariat",
        "query($id: ID!) { deskItem(kind: REPATRIATION_REQUEST, id: $id) { id overdue } }",
        {"id": world.ids["request"]},
    )
    assert item["deskItem"] == {"id": world.ids["request"], "overdue": True}
    problems = []
    for n, (root, name) in enumerate(called_roots(), start=2000):
        query = operation(root, name, world, n)
        if root == "Subscription":
            body: Any = await subscribe(hub, await hub.token("secretariat"), query)
        else:
            result = await hub.gql("secretariat", query)
            body = result.body
            if set(result.codes) - REFUSALS - {"BAD_USER_INPUT", "CONFLICT"}:
                problems.append(f"{root}.{name}: {result.codes}")
        if leaked(body, world, ids=False):
            problems.append(f"{root}.{name}: survivor data")
    assert problems == []


def test_a_leak_is_caught_by_the_checks() -> None:
    """The checks above can fail: a body with a marker or a planted id is a leak."""
    world = World({"case": "c-1"}, ["c-1"])
    assert leaked({"data": {"case": {"fullName": f"x {MARK}"}}}, world) == [MARK]
    assert leaked({"data": {"case": {"id": "c-1"}}}, world) == ["c-1"]
    assert leaked({"data": {"case": None}}, world) == []
