"""Cases and requests record places the way services do: a caseworker writes the province in
Khmer or in Latin letters, the hub keeps its ISO code (still sealed under the case's key) and
shows it back with its names; a place nobody knows is refused without echoing it; text kept
from before codes still reads as written; statistics count every spelling as one province."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, func, select

from cases.case_keys import case_cipher
from cases.models import Case, CaseField
from cases.rules import UNKNOWN_PROVINCE
from store.case_keys import CASE_PREFIX
from tests.api.repatriation_support import REQUEST, give_consent, open_case, request_input
from tests.marker_watch import planted
from tests.network import RunningHub

OWNER = "ccpcr-koh-kong"
CREATE = """
mutation($input: CreateCaseInput!) {
  createCase(input: $input) {
    id homeProvince destinationCountry
    homeProvincePlace { code name khmerName } destinationCountryPlace { code name khmerName }
  }
}"""
READ = """
query($id: ID!) {
  case(id: $id) {
    homeProvince homeProvincePlace { code name khmerName }
    destinationCountry destinationCountryPlace { code }
    withheld { field }
  }
}"""
CONSENT = "mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id } }"
TABLE = """
query($rows: StatisticsDimension!) {
  statistics(measure: CASES, rows: $rows) { total rows { label total } }
}"""
TOTAL = "(table total)"
KOH_KONG = {"code": "KH-9", "name": "Koh Kong", "khmerName": "កោះកុង"}


async def create(hub: RunningHub, survivor: dict[str, Any], who: str = OWNER) -> Any:
    return await hub.gql(
        who,
        CREATE,
        {"input": {"ageBand": "AGE_18_20", "sex": "FEMALE", "survivor": survivor}},
    )


async def case_count(hub: RunningHub) -> int:
    async with hub.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Case))).scalar_one())


async def write_as_before_codes(hub: RunningHub, case_id: str, province: str) -> None:
    """Her homeProvince as a case opened before codes holds it: the text as written, sealed."""
    async with hub.db.write() as session:
        sealer = await case_cipher(session, hub.app.state.hub.cipher, case_id)
        await session.execute(
            delete(CaseField).where(CaseField.case_id == case_id, CaseField.field == "homeProvince")
        )
        session.add(
            CaseField(
                case_id=case_id,
                field="homeProvince",
                category="LOCATION",
                key_id=CASE_PREFIX,
                sealed=sealer.seal(
                    orjson.dumps(province).decode(),
                    table="case_fields",
                    column="homeProvince",
                    row_id=case_id,
                ),
            )
        )


async def test_a_province_in_khmer_is_recorded_as_its_code_and_shown_with_its_names(
    hub: RunningHub,
) -> None:
    # Given a caseworker who writes the province in Khmer and the country by its name
    result = await create(
        hub,
        {
            "fullName": planted("Srey Placecode"),
            "homeProvince": "ខេត្តកោះកុង",
            "destinationCountry": "Thailand",
        },
    )
    # Then the hub keeps the codes and shows the names with them
    assert not result.errors, result.errors
    case = result.data["createCase"]
    assert case["homeProvince"] == "KH-9" and case["homeProvincePlace"] == KOH_KONG
    assert case["destinationCountry"] == "TH"
    assert case["destinationCountryPlace"] == {"code": "TH", "name": "Thailand", "khmerName": "ថៃ"}
    # And the code is sealed like any survivor value: nowhere in plain text in the database
    async with hub.db.read() as session:
        sealed = (
            await session.execute(
                select(CaseField.sealed).where(
                    CaseField.case_id == case["id"], CaseField.field == "homeProvince"
                )
            )
        ).scalar_one()
    assert sealed.startswith(CASE_PREFIX + ".") and "KH-9" not in sealed
    # And every spelling of Koh Kong is the same code
    for written in ("Koh Kong", "Kaoh Kong", "koh-kong province", "kh-9", "កោះ\u200bកុង"):
        again = await create(hub, {"homeProvince": written})
        assert not again.errors, (written, again.errors)
        assert again.data["createCase"]["homeProvincePlace"] == KOH_KONG, written


async def test_an_unknown_place_is_refused_without_echoing_it_and_nothing_is_written(
    hub: RunningHub,
) -> None:
    before = await case_count(hub)
    village = planted("Phum Thmei behind the pagoda")
    refusals = {
        "homeProvince": [village, "Thailand", "KH-99", "x" * 5000],  # a country is no province
        "destinationCountry": [village, "Koh Kong", "ZZ"],  # a province is no country
    }
    for field, values in refusals.items():
        for value in values:
            result = await create(hub, {"fullName": planted("Refused Placecode"), field: value})
            assert result.data is None or result.data.get("createCase") is None
            [error] = result.errors
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (field, error)
            assert error["message"].startswith(field + ": "), error
            assert "Phum" not in str(result.body) and "MARKER" not in str(result.body)
    [error] = (await create(hub, {"homeProvince": "Atlantis"})).errors
    assert error["message"] == f"homeProvince: {UNKNOWN_PROVINCE}"
    # Nothing half-written: not a single case more
    assert await case_count(hub) == before


async def test_text_from_before_codes_reads_as_written(hub: RunningHub) -> None:
    result = await create(hub, {"fullName": planted("Old Record"), "homeProvince": "KH-9"})
    case_id = result.data["createCase"]["id"]
    # A spelling of a known province, kept as the caseworker wrote it years ago
    await write_as_before_codes(hub, case_id, "Kaoh Kong")
    seen = (await hub.gql(OWNER, READ, {"id": case_id})).data["case"]
    assert seen["homeProvince"] == "Kaoh Kong" and seen["homeProvincePlace"] == KOH_KONG
    # Text that names no known place is shown as given, with no place
    village = planted("Phum Chas, near the old market")
    await write_as_before_codes(hub, case_id, village)
    seen = (await hub.gql(OWNER, READ, {"id": case_id})).data["case"]
    assert seen["homeProvince"] == village and seen["homeProvincePlace"] is None


async def test_the_place_is_withheld_with_the_province(hub: RunningHub) -> None:
    # Given her consent for ADHOC covers her identity but not where she comes from
    created = await create(
        hub,
        {
            "fullName": planted("Withheld Placecode"),
            "homeProvince": "Koh Kong",
            "destinationCountry": "MY",
        },
    )
    case_id = created.data["createCase"]["id"]
    granted = await hub.gql(
        OWNER,
        CONSENT,
        {
            "input": {
                "caseId": case_id,
                "grantor": "SURVIVOR",
                "method": "THUMBPRINT",
                "purposes": ["LEGAL_AID"],
                "categories": ["IDENTITY", "LEGAL"],
                "recipientOrganizationIds": [hub.members["adhoc"].organization_id],
            }
        },
    )
    assert not granted.errors, granted.errors
    # Then ADHOC sees neither the province nor its place, nor the country
    seen = (await hub.gql("adhoc", READ, {"id": case_id})).data["case"]
    assert seen["homeProvince"] is None and seen["homeProvincePlace"] is None
    assert seen["destinationCountry"] is None and seen["destinationCountryPlace"] is None
    assert {"homeProvince", "destinationCountry"} <= {w["field"] for w in seen["withheld"]}


async def test_a_repatriation_request_records_the_country_by_code_from_a_name(
    hub: RunningHub,
) -> None:
    case_id = await open_case(hub)
    await give_consent(hub, case_id, ["embassy-bangkok", "mosavy"])
    asked = request_input(hub, case_id, "placecodes-1", currentCountry="ប្រទេស ថៃ")
    refused = await hub.gql("adhoc", REQUEST, {"input": asked})
    assert [e["extensions"]["code"] for e in refused.errors] == ["BAD_USER_INPUT"]
    asked = request_input(hub, case_id, "placecodes-2", currentCountry="Thailand")
    sent = await hub.gql("adhoc", REQUEST, {"input": asked})
    assert not sent.errors, sent.errors
    rid = sent.data["requestRepatriation"]["id"]
    view = await hub.gql(
        "adhoc", "query($id: ID!) { repatriationRequest(id: $id) { currentCountry } }", {"id": rid}
    )
    assert view.data["repatriationRequest"]["currentCountry"] == "TH"
    # A retry naming the country by its code (or in Khmer) is the same request, not a
    # conflicting one; a different country under the same key still conflicts.
    for spelling in ("TH", "ថៃ", " thailand "):
        again = request_input(hub, case_id, "placecodes-2", currentCountry=spelling)
        retried = await hub.gql("adhoc", REQUEST, {"input": again})
        assert not retried.errors, (spelling, retried.errors)
        assert retried.data["requestRepatriation"]["id"] == rid
    elsewhere = request_input(hub, case_id, "placecodes-2", currentCountry="Malaysia")
    conflict = await hub.gql("adhoc", REQUEST, {"input": elsewhere})
    assert [e["extensions"]["code"] for e in conflict.errors] == ["CONFLICT"]


async def test_statistics_count_every_spelling_of_a_province_as_one(hub: RunningHub) -> None:
    before = await province_totals(hub)
    assert "KH-9" not in before  # nobody from Koh Kong is counted yet
    # Given six survivors from Koh Kong, each written differently (two from before codes),
    # all consenting to statistics for the coordinator: fewer than k = 5 for any one spelling
    spellings = ["Koh Kong", "កោះកុង", "Kaoh Kong", "KH-9", "ខេត្ត កោះកុង", "Koh Kong"]
    for n, written in enumerate(spellings):
        created = await create(hub, {"homeProvince": written})
        assert not created.errors, created.errors
        case_id = created.data["createCase"]["id"]
        if n >= 4:  # two of them recorded before codes, as the caseworker wrote it
            await write_as_before_codes(hub, case_id, ["  koh   KONG ", "កោះកុង"][n - 4])
        granted = await hub.gql(
            OWNER,
            CONSENT,
            {
                "input": {
                    "caseId": case_id,
                    "grantor": "SURVIVOR",
                    "method": "WRITTEN",
                    "purposes": ["STATISTICS"],
                    "categories": ["LOCATION"],
                    "recipientKinds": ["COORDINATOR"],
                }
            },
        )
        assert not granted.errors, granted.errors
    # Then they are one row under the code (six, at least k), not six spellings each
    # below k and pooled under OTHER; the table counts exactly six more survivors.
    after = await province_totals(hub)
    assert set(after) - set(before) == {"KH-9"}, after
    assert after[TOTAL] == (before[TOTAL] or 0) + 6
    assert not any("koh" in label.lower() or "កោះ" in label for label in after)


async def province_totals(hub: RunningHub) -> dict[str, int | None]:
    result = await hub.gql("secretariat", TABLE, {"rows": "PROVINCE"})
    assert not result.errors, result.errors
    table = result.data["statistics"]
    return {TOTAL: table["total"], **{r["label"]: r["total"] for r in table["rows"]}}
