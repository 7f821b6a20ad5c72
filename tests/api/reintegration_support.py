"""Steps shared by the reintegration and funding tests: a returned survivor's case with
consent for follow-up, a plan on it, and the GraphQL operations they use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.repatriation_support import give_consent, open_case, orgs
from tests.network import RunningHub

PLAN_FIELDS = """
  id caseId status version cancelReason completedAt
  services { id kind providerId status endReason }
  visits { id visitorId status dueAt overdue outcome note nextVisitId recordedAt }
  withheld { field category reason }
"""
CREATE_PLAN = (
    "mutation($input: CreateReintegrationPlanInput!) { createReintegrationPlan(input: $input) {"
    + PLAN_FIELDS
    + "} }"
)
PLAN = "query($id: ID!) { reintegrationPlan(id: $id) {" + PLAN_FIELDS + "} }"
PLANS = """
query($caseId: ID, $first: Int!, $after: String) {
  reintegrationPlans(caseId: $caseId, first: $first, after: $after) {
    edges { cursor node { id status } } pageInfo { hasNextPage endCursor }
  }
}"""
ADD_SERVICE = (
    "mutation($id: ID!, $input: PlannedServiceInput!, $v: Int) { addReintegrationService("
    "planId: $id, input: $input, expectedVersion: $v) {" + PLAN_FIELDS + "} }"
)
START = (
    "mutation($id: ID!, $v: Int) { startReintegrationService(id: $id, expectedVersion: $v) {"
    + PLAN_FIELDS
    + "} }"
)
COMPLETE = (
    "mutation($id: ID!, $v: Int) { completeReintegrationService(id: $id, expectedVersion: $v) {"
    + PLAN_FIELDS
    + "} }"
)
END = (
    "mutation($id: ID!, $reason: String!, $cat: DataCategory) { endReintegrationService("
    "id: $id, reason: $reason, reasonCategory: $cat) {" + PLAN_FIELDS + "} }"
)
CANCEL_PLAN = (
    "mutation($id: ID!, $reason: String!, $v: Int) { cancelReintegrationPlan(id: $id, "
    "reason: $reason, expectedVersion: $v) {" + PLAN_FIELDS + "} }"
)
SCHEDULE = (
    "mutation($id: ID!, $due: DateTime!, $visitor: ID, $v: Int) { scheduleFollowUpVisit("
    "planId: $id, dueAt: $due, visitorOrganizationId: $visitor, expectedVersion: $v) {"
    + PLAN_FIELDS
    + "} }"
)
RECORD = (
    "mutation($id: ID!, $input: FollowUpVisitInput!, $v: Int) { recordFollowUpVisit("
    "id: $id, input: $input, expectedVersion: $v) {" + PLAN_FIELDS + "} }"
)
CANCEL_VISIT = (
    "mutation($id: ID!, $reason: String!) { cancelFollowUpVisit(id: $id, reason: $reason) {"
    + PLAN_FIELDS
    + "} }"
)
CASE_STATUS = "query($id: ID!) { case(id: $id) { id status } }"

FUNDING_FIELDS = """
  subjectKind subjectId status partyIds
  funders { organizationId namedBy }
  costs { item amount currency incurredOn funderId }
  totals { currency amount }
"""
NAME_FUNDER = (
    "mutation($kind: FundedSubjectKind!, $id: ID!, $funder: ID!) { nameFunder(subjectKind: "
    "$kind, subjectId: $id, funderOrganizationId: $funder) {" + FUNDING_FIELDS + "} }"
)
RECORD_COST = (
    "mutation($kind: FundedSubjectKind!, $id: ID!, $input: RecordCostInput!) { recordCost("
    "subjectKind: $kind, subjectId: $id, input: $input) {" + FUNDING_FIELDS + "} }"
)
FUNDING = (
    "query($kind: FundedSubjectKind!, $id: ID!) { funding(subjectKind: $kind, subjectId: $id) {"
    + FUNDING_FIELDS
    + "} }"
)
REPORT = """
query($funder: ID, $from: Date!, $to: Date!) {
  costReport(funderOrganizationId: $funder, from: $from, to: $to) {
    funderId from to
    lines { funderId subjectKind item currency amount }
    totals { currency amount }
  }
}"""


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def returned_case(
    hub: RunningHub, followers: tuple[str, ...] = ("ccpcr-shelter", "ccpcr-koh-kong")
) -> str:
    """ADHOC's case of a survivor back home, her consent naming ``followers`` for FOLLOW_UP
    (IDENTITY and LOCATION only: not HEALTH)."""
    case_id = await open_case(hub)
    await give_consent(hub, case_id, list(followers), purposes=("FOLLOW_UP",))
    return case_id


def services(hub: RunningHub, *pairs: tuple[str, str]) -> list[dict[str, str]]:
    org = orgs(hub)
    return [{"kind": kind, "providerOrganizationId": org[who]} for kind, who in pairs]


async def a_plan(
    hub: RunningHub, key: str, *pairs: tuple[str, str], case_id: str | None = None
) -> dict[str, Any]:
    """Given a returned survivor's case, ADHOC's plan with ``pairs`` (kind, provider)."""
    case = case_id or await returned_case(hub)
    chosen = pairs or (("VOCATIONAL_TRAINING", "ccpcr-shelter"),)
    created = await hub.gql(
        "adhoc",
        CREATE_PLAN,
        {"input": {"caseId": case, "services": services(hub, *chosen), "idempotencyKey": key}},
    )
    assert not created.errors, created.errors
    plan: dict[str, Any] = created.data["createReintegrationPlan"]
    return plan
