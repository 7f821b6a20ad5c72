"""Partners with FHIR systems take a referral as ServiceRequest + Task and the consent
behind it as Consent: valid against the FHIR models, only what consent releases to them,
no survivor data, and each export in the disclosure log."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import text

from cases.demo_journey import acting
from cases.referral_rules import Urgency
from cases.rules import AgeBand, Sex
from cases.sending import NewReferral, send_referral
from cases.service import NewCase, create_case
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from consent.service import NewConsent, record_consent
from orgs.rules import OrganizationKind, ServiceCategory
from tests.marker_watch import MARKER, planted
from tests.network import RunningHub

OWNER, RECEIVER, STRANGER = "ccpcr-koh-kong", "ccpcr-shelter", "adhoc"


async def _auth(hub: RunningHub, who: str, scope: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {await hub.token(who, scope=scope)}"}


async def _world(hub: RunningHub) -> dict[str, str]:
    owner = acting(hub.members[OWNER])
    cipher = hub.app.state.hub.cipher
    view = await create_case(
        hub.db,
        owner,
        cipher,
        NewCase(
            age_band=AgeBand.AGE_18_20,
            sex=Sex.FEMALE,
            survivor={"fullName": planted("Dara FHIR"), "healthNotes": planted("needs care")},
        ),
    )
    case_id = view.case.id
    to_shelter = await record_consent(
        hub.db,
        owner,
        NewConsent(
            case_id=case_id,
            grantor=Grantor.SURVIVOR,
            method=ConsentMethod.WRITTEN,
            purposes=[Purpose.SERVICE_REFERRAL],
            categories=[DataCategory.HEALTH],
            recipient_organization_ids=[hub.members[RECEIVER].organization_id],
        ),
        cipher,
    )
    to_government = await record_consent(
        hub.db,
        owner,
        NewConsent(
            case_id=case_id,
            grantor=Grantor.SURVIVOR,
            method=ConsentMethod.WRITTEN,
            purposes=[Purpose.STATISTICS],
            categories=[DataCategory.TRAFFICKING_EXPERIENCE],
            recipient_kinds=[OrganizationKind.GOVERNMENT],
        ),
        cipher,
    )
    referral = await send_referral(
        hub.db,
        owner,
        cipher,
        NewReferral(
            case_id=case_id,
            receiver_organization_id=hub.members[RECEIVER].organization_id,
            services=[ServiceCategory.SHELTER],
            urgency=Urgency.URGENT,
            reason=planted("she cannot go home"),
            idempotency_key="fhir-export-1",
        ),
    )
    return {
        "case": case_id,
        "referral": referral.id,
        "to_shelter": to_shelter.id,
        "to_government": to_government.id,
    }


async def _exports(hub: RunningHub, who: str) -> list[tuple[str, str]]:
    async with hub.db.read() as session:
        found = await session.execute(
            text(
                "SELECT case_id, consent_grant_id FROM disclosures "
                "WHERE organization_id = :org AND channel = 'EXPORT' ORDER BY id"
            ),
            {"org": hub.members[who].organization_id},
        )
        return [(r[0], r[1]) for r in found]


def _valid(body: dict[str, Any]) -> list[dict[str, Any]]:
    Bundle.model_validate(body)
    return [entry["resource"] for entry in body["entry"]]


async def test_the_receiver_takes_the_referral_as_service_request_and_task(
    hub: RunningHub,
) -> None:
    world = await _world(hub)
    path = f"/exports/fhir/referrals/{world['referral']}"
    response = await hub.http.get(path, headers=await _auth(hub, RECEIVER))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    assert MARKER not in response.text and world["case"] not in response.text
    request, task = _valid(response.json())
    assert request["resourceType"] == "ServiceRequest" and task["resourceType"] == "Task"
    assert request["status"] == "active" and request["priority"] == "urgent"
    assert task["status"] == "requested"
    assert task["focus"]["reference"] == f"ServiceRequest/{world['referral']}"
    receiver_org = hub.members[RECEIVER].organization_id
    assert task["owner"]["reference"] == f"Organization/{receiver_org}"
    assert request["subject"] == task["for"]
    # A disclosure citing the consent the referral travels under.
    assert await _exports(hub, RECEIVER) == [(world["case"], world["to_shelter"])]

    # The sender may export it too, under its own pseudonym for the survivor.
    sent = await hub.http.get(path, headers=await _auth(hub, OWNER))
    assert sent.status_code == 200
    assert _valid(sent.json())[0]["subject"] != request["subject"]


async def test_a_stranger_cannot_tell_the_referral_exists(hub: RunningHub) -> None:
    world = await _world(hub)
    path = f"/exports/fhir/referrals/{world['referral']}"
    for who in (STRANGER, "secretariat"):
        response = await hub.http.get(path, headers=await _auth(hub, who))
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    missing = await hub.http.get(
        "/exports/fhir/referrals/no-such-referral", headers=await _auth(hub, RECEIVER)
    )
    assert missing.status_code == 404
    assert (await hub.http.get(path)).status_code == 401
    narrow = await hub.http.get(path, headers=await _auth(hub, RECEIVER, "orgs:read"))
    assert narrow.status_code == 403
    assert await _exports(hub, STRANGER) == []
    assert await _exports(hub, RECEIVER) == []


async def test_consent_as_fhir_consent_only_as_far_as_it_names_the_caller(
    hub: RunningHub,
) -> None:
    world = await _world(hub)
    path = f"/exports/fhir/cases/{world['case']}/consents"
    owned = await hub.http.get(path, headers=await _auth(hub, OWNER))
    assert owned.status_code == 200
    resources = _valid(owned.json())
    assert [r["resourceType"] for r in resources] == ["Consent", "Consent"]
    assert MARKER not in owned.text

    shown = await hub.http.get(path, headers=await _auth(hub, RECEIVER))
    assert shown.status_code == 200
    (only,) = _valid(shown.json())
    assert only["id"] == f"{world['to_shelter']}-v1"
    assert only["status"] == "active"
    assert [p["code"] for p in only["provision"]["purpose"]] == ["SERVICE_REFERRAL"]
    assert await _exports(hub, RECEIVER) == [(world["case"], world["to_shelter"])]
    assert sorted(g for _, g in await _exports(hub, OWNER)) == sorted(
        [world["to_shelter"], world["to_government"]]
    )

    stranger = await hub.http.get(path, headers=await _auth(hub, STRANGER))
    assert stranger.status_code == 404
    assert await _exports(hub, STRANGER) == []
