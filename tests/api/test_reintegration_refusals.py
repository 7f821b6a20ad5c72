"""What a reintegration plan refuses: the wrong organisation, a missing scope or consent, a
stale version, a suspended provider, bad input. A refusal changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cases.deadlines import run_deadlines
from tests.api.reintegration_support import (
    CANCEL_PLAN,
    CANCEL_VISIT,
    CREATE_PLAN,
    END,
    RECORD,
    SCHEDULE,
    START,
    a_plan,
    later,
    returned_case,
    services,
)
from tests.api.repatriation_support import do, orgs
from tests.network import RunningHub

TABLES = (
    "reintegration_plans",
    "reintegration_services",
    "follow_up_visits",
    "case_parties",
    "events",
    "audit",
)
SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "audit") { status } }'


async def counts(hub: RunningHub) -> dict[str, int]:
    return {t: int(await hub.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


async def refused(
    hub: RunningHub, who: str, query: str, variables: dict[str, Any], code: str, **kw: Any
) -> None:
    before = await counts(hub)
    result = await hub.gql(who, query, variables, **kw)
    assert result.codes == [code], result.body
    assert await counts(hub) == before


def plan_input(hub: RunningHub, case_id: str, key: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    chosen = pairs or (("VOCATIONAL_TRAINING", "ccpcr-shelter"),)
    return {"input": {"caseId": case_id, "services": services(hub, *chosen), "idempotencyKey": key}}


async def test_only_the_case_owner_plans_and_only_with_consent_for_every_provider(
    hub: RunningHub,
) -> None:
    case_id = await returned_case(hub, followers=("ccpcr-shelter",))
    # the Koh Kong centre is not covered by the survivor's consent for FOLLOW_UP
    await refused(
        hub,
        "adhoc",
        CREATE_PLAN,
        plan_input(
            hub,
            case_id,
            "refuse-0001",
            ("VOCATIONAL_TRAINING", "ccpcr-shelter"),
            ("JOB_PLACEMENT", "ccpcr-koh-kong"),
        ),
        "CONSENT_REQUIRED",
    )
    # a consent recipient sees the case but does not own it; an outsider does not see it
    await refused(
        hub, "ccpcr-shelter", CREATE_PLAN, plan_input(hub, case_id, "refuse-0002"), "FORBIDDEN"
    )
    await refused(
        hub, "ngo-malaysia", CREATE_PLAN, plan_input(hub, case_id, "refuse-0003"), "NOT_FOUND"
    )
    # the owner's token without `cases:write`
    token = await hub.token("adhoc", scope="cases:read")
    await refused(
        hub, "adhoc", CREATE_PLAN, plan_input(hub, case_id, "refuse-0004"), "FORBIDDEN", token=token
    )
    # bad input: no service, a grant without financial literacy, an unknown provider, a short key
    org = orgs(hub)
    for body in (
        {"input": {"caseId": case_id, "services": [], "idempotencyKey": "refuse-0005"}},
        plan_input(hub, case_id, "refuse-0006", ("SMALL_BUSINESS_GRANT", "ccpcr-shelter")),
        {
            "input": {
                "caseId": case_id,
                "idempotencyKey": "refuse-0007",
                "services": [
                    {"kind": "OTHER", "providerOrganizationId": org["ccpcr-shelter"][:-4] + "0000"}
                ],
            }
        },
        plan_input(hub, case_id, "short"),
    ):
        await refused(hub, "adhoc", CREATE_PLAN, body, "BAD_USER_INPUT")
    # a closed case gets no plan
    closed = await hub.gql(
        "adhoc",
        "mutation($id: ID!) { updateCaseStatus(caseId: $id, status: CLOSED) { status } }",
        {"id": case_id},
    )
    assert not closed.errors, closed.errors
    await refused(
        hub, "adhoc", CREATE_PLAN, plan_input(hub, case_id, "refuse-0008"), "INVALID_TRANSITION"
    )


async def test_each_organisation_acts_only_on_its_own_part(hub: RunningHub) -> None:
    org = orgs(hub)
    plan = await a_plan(
        hub,
        "refuse-part-01",
        ("VOCATIONAL_TRAINING", "ccpcr-shelter"),
        ("JOB_PLACEMENT", "ccpcr-koh-kong"),
    )
    shelter = next(s for s in plan["services"] if s["kind"] == "VOCATIONAL_TRAINING")
    # another provider of the same plan cannot start the shelter's service
    await refused(hub, "ccpcr-koh-kong", START, {"id": shelter["id"]}, "INVALID_TRANSITION")
    # an outsider cannot tell it exists
    await refused(hub, "ngo-malaysia", START, {"id": shelter["id"]}, "NOT_FOUND")
    # a stale version is a conflict
    await refused(hub, "ccpcr-shelter", START, {"id": shelter["id"], "v": 7}, "CONFLICT")
    # ending needs a reason
    await refused(
        hub, "ccpcr-shelter", END, {"id": shelter["id"], "reason": "  "}, "BAD_USER_INPUT"
    )
    # only the owner schedules and cancels visits; a visit is due in the future
    await refused(
        hub, "ccpcr-shelter", SCHEDULE, {"id": plan["id"], "due": later(days=3)}, "FORBIDDEN"
    )
    await refused(
        hub, "adhoc", SCHEDULE, {"id": plan["id"], "due": later(days=-1)}, "BAD_USER_INPUT"
    )
    scheduled = await do(
        hub,
        "adhoc",
        SCHEDULE,
        {"id": plan["id"], "due": later(days=3), "visitor": org["ccpcr-koh-kong"]},
        "scheduleFollowUpVisit",
    )
    visit_id = scheduled["visits"][0]["id"]
    await refused(
        hub, "ccpcr-koh-kong", CANCEL_VISIT, {"id": visit_id, "reason": "x"}, "INVALID_TRANSITION"
    )
    # the shelter is a party to the plan, not the visitor: it records nothing
    await refused(
        hub,
        "ccpcr-shelter",
        RECORD,
        {"id": visit_id, "input": {"outcome": "SEEN"}},
        "INVALID_TRANSITION",
    )
    # a suspended visitor's token is refused before anything runs
    await hub.token("ccpcr-koh-kong")
    suspended = await hub.gql("secretariat", SUSPEND, {"id": org["ccpcr-koh-kong"]})
    assert suspended.data["suspendOrganization"]["status"] == "SUSPENDED"
    before = await counts(hub)
    late = await hub.gql("ccpcr-koh-kong", RECORD, {"id": visit_id, "input": {"outcome": "SEEN"}})
    assert late.status == 401 or late.codes == ["UNAUTHENTICATED"], late.body
    assert await counts(hub) == before


async def test_a_cancelled_plan_cancels_its_visits_and_their_deadlines(hub: RunningHub) -> None:
    plan = await a_plan(hub, "refuse-cancel1")
    scheduled = await do(
        hub, "adhoc", SCHEDULE, {"id": plan["id"], "due": later(days=2)}, "scheduleFollowUpVisit"
    )
    await refused(
        hub, "ccpcr-shelter", CANCEL_PLAN, {"id": plan["id"], "reason": "x"}, "INVALID_TRANSITION"
    )
    await refused(hub, "adhoc", CANCEL_PLAN, {"id": plan["id"], "reason": ""}, "BAD_USER_INPUT")
    cancelled = await do(
        hub,
        "adhoc",
        CANCEL_PLAN,
        {"id": plan["id"], "reason": "moved abroad again", "v": scheduled["version"]},
        "cancelReintegrationPlan",
    )
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancelReason"] == "moved abroad again"
    assert [v["status"] for v in cancelled["visits"]] == ["CANCELLED"]
    report = await run_deadlines(
        hub.db,
        hub.app.state.hub.cipher,
        datetime.fromisoformat(scheduled["visits"][0]["dueAt"]) + timedelta(days=1),
    )
    assert report.reminded == report.escalated == 0
    await refused(
        hub, "adhoc", CANCEL_PLAN, {"id": plan["id"], "reason": "again"}, "INVALID_TRANSITION"
    )


async def test_once_consent_is_withdrawn_providers_and_visitors_stop_reporting(
    hub: RunningHub,
) -> None:
    org = orgs(hub)
    case_id = await returned_case(hub)
    plan = await a_plan(
        hub, "refuse-consent", ("VOCATIONAL_TRAINING", "ccpcr-shelter"), case_id=case_id
    )
    scheduled = await do(
        hub,
        "adhoc",
        SCHEDULE,
        {"id": plan["id"], "due": later(days=4), "visitor": org["ccpcr-koh-kong"]},
        "scheduleFollowUpVisit",
    )
    visit_id = scheduled["visits"][0]["id"]
    service_id = plan["services"][0]["id"]
    consents = await do(
        hub,
        "adhoc",
        "query($id: ID!) { consents(caseId: $id) { id } }",
        {"id": case_id},
        "consents",
    )
    for grant in consents:
        await do(
            hub,
            "adhoc",
            'mutation($id: ID!) { withdrawConsent(consentId: $id, reason: "no more") { id } }',
            {"id": grant["id"]},
            "withdrawConsent",
        )
    await refused(hub, "ccpcr-shelter", START, {"id": service_id}, "CONSENT_REQUIRED")
    await refused(
        hub,
        "ccpcr-koh-kong",
        RECORD,
        {"id": visit_id, "input": {"outcome": "SAFE"}},
        "CONSENT_REQUIRED",
    )
    # and nobody new is brought in without it
    await refused(
        hub,
        "adhoc",
        SCHEDULE,
        {"id": plan["id"], "due": later(days=9), "visitor": org["ccpcr-koh-kong"]},
        "CONSENT_REQUIRED",
    )
    # the owner still runs its own plan
    started = await do(hub, "adhoc", START, {"id": service_id}, "startReintegrationService")
    assert started["services"][0]["status"] == "IN_PROGRESS"
    recorded = await do(
        hub, "adhoc", RECORD, {"id": visit_id, "input": {"outcome": "SEEN"}}, "recordFollowUpVisit"
    )
    assert recorded["visits"][0]["status"] == "DONE"
