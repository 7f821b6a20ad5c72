"""The national database receives an HTCDS-shaped export: consented cases only, under
pseudonyms, with the standard's columns and nothing else, and every exported case is a
disclosure in the log."""

from __future__ import annotations

import csv
import io

from cases.access import load_grants
from cases.demo_journey import acting
from cases.demo_statistics import seed_demo_statistics
from cases.rules import AgeBand, Sex
from cases.service import NewCase, create_case
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from consent.service import NewConsent, record_consent
from orgs.rules import OrganizationKind
from tests.marker_watch import MARKER, planted
from tests.network import RunningHub

NATIONAL = "mosavy"
# The HTCDS columns the national database expects, as declared for this export.
EXPECTED_COLUMNS = [
    "caseId",
    "Datasource",
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "citizenship",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "isForcedMarriage",
    "isForcedMilitary",
    "isOrganRemoval",
    "isSlaveryAndPractices",
    "CountryOfExploitation",
    "recruiterRelationIntimatePartner",
    "recruiterRelationFriend",
    "recruiterRelationFamily",
    "recruiterRelationOther",
    "recruiterRelationUnknown",
]


async def _auth(hub: RunningHub, who: str = NATIONAL, scope: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {await hub.token(who, scope=scope)}"}


async def _exports_logged(hub: RunningHub) -> int:
    org = hub.members[NATIONAL].organization_id
    return int(
        await hub.scalar(
            "SELECT count(*) FROM disclosures WHERE organization_id = :org AND channel = 'EXPORT'",
            org=org,
        )
    )


async def test_the_national_database_receives_consented_cases_under_pseudonyms(
    hub: RunningHub,
) -> None:
    ids = await seed_demo_statistics(hub.db, hub.app.state.hub.cipher, hub.members)
    async with hub.db.read() as session:
        grants = await load_grants(session, ids)
    consented = sum(any(Purpose.STATISTICS in g.purposes for g in grants[i]) for i in ids)
    assert 0 < consented < len(ids)

    response = await hub.http.get("/exports/htcds.json", headers=await _auth(hub))
    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == EXPECTED_COLUMNS
    assert all(list(row) == EXPECTED_COLUMNS for row in body["cases"])
    assert len(body["cases"]) == consented
    # No case id leaves the hub; the pseudonyms are stable for this recipient.
    pseudonyms = [row["caseId"] for row in body["cases"]]
    assert not set(pseudonyms) & set(ids)
    assert len(set(pseudonyms)) == len(pseudonyms)
    again = (await hub.http.get("/exports/htcds.json", headers=await _auth(hub))).json()
    assert [row["caseId"] for row in again["cases"]] == pseudonyms
    # Every exported case, each time, is a disclosure in the log.
    assert await _exports_logged(hub) == 2 * consented
    assert {row["Datasource"] for row in body["cases"]} == {"Case Management"}
    assert {row["CountryOfExploitation"] for row in body["cases"]} <= {"TH", "MY", "CN"}

    response = await hub.http.get("/exports/htcds.csv", headers=await _auth(hub))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == EXPECTED_COLUMNS
    assert [line[0] for line in lines[1:]] == pseudonyms
    assert await _exports_logged(hub) == 3 * consented


async def test_names_notes_and_unconsented_cases_never_leave(hub: RunningHub) -> None:
    owner = acting(hub.members["ccpcr-koh-kong"])
    cipher = hub.app.state.hub.cipher
    name, notes = planted("Sokha Export"), planted("recruited at the market")
    consented = await create_case(
        hub.db,
        owner,
        cipher,
        NewCase(
            age_band=AgeBand.AGE_21_23,
            sex=Sex.FEMALE,
            nationality="KH",
            survivor={
                "fullName": name,
                "recruitmentNotes": notes,
                "exploitationTypes": ["FORCED_LABOUR"],
                "destinationCountry": "TH",
            },
        ),
    )
    refused = await create_case(
        hub.db, owner, cipher, NewCase(age_band=AgeBand.AGE_21_23, sex=Sex.MALE)
    )
    for case_id, purposes in (
        (consented.case.id, [Purpose.STATISTICS]),
        (refused.case.id, [Purpose.SERVICE_REFERRAL]),
    ):
        await record_consent(
            hub.db,
            owner,
            NewConsent(
                case_id=case_id,
                grantor=Grantor.SURVIVOR,
                method=ConsentMethod.WRITTEN,
                purposes=purposes,
                categories=[DataCategory.TRAFFICKING_EXPERIENCE, DataCategory.IDENTITY],
                recipient_kinds=[OrganizationKind.GOVERNMENT],
            ),
            cipher,
        )
    response = await hub.http.get("/exports/htcds.json", headers=await _auth(hub))
    assert MARKER not in response.text
    rows = response.json()["cases"]
    assert len(rows) == 1
    assert rows[0]["isForcedLabour"] == "1" and rows[0]["isSexualExploit"] == "0"
    assert rows[0]["gender"] == "Female" and rows[0]["majorityStatus"] == "Adult"
    assert rows[0]["recruiterRelationFamily"] == ""  # not recorded: unknown, not "no"
    assert await _exports_logged(hub) == 1


async def test_only_a_holder_of_exports_read_may_export(hub: RunningHub) -> None:
    for path in ("/exports/htcds.csv", "/exports/htcds.json"):
        assert (await hub.http.get(path)).status_code == 401
        for who, scope in (
            ("secretariat", None),
            ("ccpcr-koh-kong", None),
            (NATIONAL, "orgs:read"),
        ):
            response = await hub.http.get(path, headers=await _auth(hub, who, scope))
            assert response.status_code == 403, (who, scope)
            assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _exports_logged(hub) == 0
