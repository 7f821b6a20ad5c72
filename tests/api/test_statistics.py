"""The coordinator counts safely: statistics over the network's consented cases, as GraphQL,
CSV and an SVG chart, with no published cell under k and none recoverable from the others."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree

from cases.access import load_grants
from cases.demo_statistics import seed_demo_statistics
from cases.rules import AgeBand, Sex
from cases.service import NewCase, create_case
from cases.statistics_rules import Published
from consent.rules import Purpose
from tests.marker_watch import planted
from tests.network import RunningHub, Template, serve_hub
from tests.unit.test_statistics_suppression import linear_attack, subtraction_attack

COORDINATOR = "secretariat"
TABLE = """
query($measure: StatisticsMeasure!, $rows: StatisticsDimension!, $columns: StatisticsDimension) {
  statistics(measure: $measure, rows: $rows, columns: $columns) {
    measure rowDimension columnDimension k total
    rows { label cells total }
    columns { label total }
  }
}
"""


def _published(table: dict[str, Any]) -> Published:
    return Published(
        cells=tuple(tuple(r["cells"]) for r in table["rows"]),
        row_totals=tuple(r["total"] for r in table["rows"]),
        column_totals=tuple(c["total"] for c in table["columns"]),
        total=table["total"],
    )


async def _statistics(hub: RunningHub, who: str = COORDINATOR, **variables: Any) -> Any:
    return await hub.gql(who, TABLE, variables)


async def _seed(hub: RunningHub) -> list[str]:
    return await seed_demo_statistics(hub.db, hub.app.state.hub.cipher, hub.members)


async def _consented(hub: RunningHub, ids: list[str]) -> int:
    async with hub.db.read() as session:
        grants = await load_grants(session, ids)
    return sum(any(Purpose.STATISTICS in g.purposes for g in grants[i]) for i in ids)


async def test_the_coordinator_counts_consented_cases_with_nothing_below_k(
    hub: RunningHub,
) -> None:
    ids = await _seed(hub)
    counted = await _consented(hub, ids)
    assert 0 < counted < len(ids)  # some said no to statistics

    result = await _statistics(hub, measure="CASES", rows="PROVINCE", columns="SEX")
    assert result.errors == []
    table = result.data["statistics"]
    assert table["k"] == 5
    published = _published(table)
    # Only consented cases are counted, all of them.
    assert table["total"] == counted
    # Something real shows, and something is suppressed.
    shown = [v for row in published.cells for v in row if v is not None]
    assert shown and min(shown) >= 5
    assert any(v is None for row in published.cells for v in row)
    totals = [*published.row_totals, *published.column_totals]
    assert all(v is None or v >= 5 for v in totals)
    # An attacker with the whole table recovers no suppressed cell.
    assert subtraction_attack(published) == {}
    assert linear_attack(published) == []
    # Provinces with fewer than k survivors are not named: pooled under OTHER.
    labels = [r["label"] for r in table["rows"]]
    assert "KH-11" not in labels and labels[-1] == "OTHER"  # Mondulkiri


async def test_every_measure_and_dimension_pair_is_safe(hub: RunningHub) -> None:
    await _seed(hub)
    pairs = [
        ("CASES", "MONTH", "AGE_BAND"),
        ("CASES", "EXPLOITATION_TYPE", "DESTINATION_COUNTRY"),
        ("CASES", "OUTCOME", None),
        ("REFERRALS", "ACKNOWLEDGE_TIME", "RESPONSE_TIME"),
        ("REPATRIATIONS", "DESTINATION_COUNTRY", "ACKNOWLEDGE_TIME"),
    ]
    for measure, rows, columns in pairs:
        result = await _statistics(hub, measure=measure, rows=rows, columns=columns)
        assert result.errors == [], (measure, rows, columns)
        published = _published(result.data["statistics"])
        for row in published.cells:
            assert all(v is None or v >= 5 for v in row)
        assert subtraction_attack(published) == {}
        assert linear_attack(published) == []
    # The demo's referrals show how fast the shelter acknowledges, with something published.
    result = await _statistics(hub, measure="REFERRALS", rows="ACKNOWLEDGE_TIME")
    bands = {r["label"]: r["total"] for r in result.data["statistics"]["rows"]}
    assert list(bands) == ["WITHIN_1_DAY", "WITHIN_3_DAYS", "WITHIN_7_DAYS", "LONGER", "NOT_YET"]
    assert any(v is not None and v >= 5 for v in bands.values())


async def test_a_survivor_alone_in_her_province_is_never_named(hub: RunningHub) -> None:
    await _seed(hub)
    owner = hub.members["ccpcr-koh-kong"]
    from cases.demo_journey import acting

    # Pailin (KH-24), where nobody else comes from; her name is planted for the run's watch.
    survivor = {"homeProvince": "Pailin", "fullName": planted("Lonely Pailin")}
    await create_case(
        hub.db,
        acting(owner),
        hub.app.state.hub.cipher,
        NewCase(age_band=AgeBand.AGE_18_20, sex=Sex.FEMALE, survivor=survivor),
    )
    result = await _statistics(hub, measure="CASES", rows="PROVINCE")
    body = str(result.body).lower()
    assert "pailin" not in body and "marker" not in body and "kh-24" not in body
    csv_response = await hub.http.get(
        "/statistics.csv",
        params={"measure": "CASES", "rows": "PROVINCE"},
        headers={"Authorization": f"Bearer {await hub.token(COORDINATOR)}"},
    )
    assert "pailin" not in csv_response.text.lower() and "KH-24" not in csv_response.text


async def test_csv_and_svg_carry_the_same_published_table(hub: RunningHub) -> None:
    await _seed(hub)
    auth = {"Authorization": f"Bearer {await hub.token(COORDINATOR)}"}
    params = {"measure": "CASES", "rows": "PROVINCE", "columns": "SEX"}
    table = (await _statistics(hub, **params)).data["statistics"]

    response = await hub.http.get("/statistics.csv", params=params, headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == ["PROVINCE", *(c["label"] for c in table["columns"]), "TOTAL"]
    for line, row in zip(lines[1:-1], table["rows"], strict=True):
        assert line[0] == row["label"]
        assert line[1:-1] == ["" if v is None else str(v) for v in row["cells"]]
    assert lines[-1][-1] == str(table["total"])

    response = await hub.http.get("/statistics.svg", params=params, headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(response.text)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "suppressed" in texts
    assert all(r["label"] in texts for r in table["rows"])


async def test_only_the_coordinator_with_statistics_read_may_count(hub: RunningHub) -> None:
    # A member organisation's client cannot hold the scope.
    result = await _statistics(hub, "ccpcr-koh-kong", measure="CASES", rows="SEX")
    assert result.codes == ["FORBIDDEN"]
    # The coordinator's token without the scope is refused too.
    narrow = await hub.token(COORDINATOR, scope="orgs:read")
    result = await hub.gql(None, TABLE, {"measure": "CASES", "rows": "SEX"}, token=narrow)
    assert result.codes == ["FORBIDDEN"]
    params = {"measure": "CASES", "rows": "SEX"}
    for path in ("/statistics.csv", "/statistics.svg"):
        response = await hub.http.get(path, params=params)
        assert response.status_code == 401
        response = await hub.http.get(
            path, params=params, headers={"Authorization": f"Bearer {narrow}"}
        )
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_dimension_the_measure_lacks_is_bad_input(hub: RunningHub) -> None:
    result = await _statistics(hub, measure="CASES", rows="ACKNOWLEDGE_TIME")
    assert result.codes == ["BAD_USER_INPUT"]
    result = await _statistics(hub, measure="CASES", rows="SEX", columns="SEX")
    assert result.codes == ["BAD_USER_INPUT"]
    auth = {"Authorization": f"Bearer {await hub.token(COORDINATOR)}"}
    response = await hub.http.get(
        "/statistics.csv", params={"measure": "PEOPLE", "rows": "SEX"}, headers=auth
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_larger_k_from_the_settings_holds_everywhere(template: Template) -> None:
    async with serve_hub(template, statistics_k=9) as hub:
        await _seed(hub)
        result = await _statistics(hub, measure="CASES", rows="DESTINATION_COUNTRY", columns="SEX")
        table = result.data["statistics"]
        assert table["k"] == 9
        published = _published(table)
        numbers = [v for row in published.cells for v in row] + [
            *published.row_totals,
            *published.column_totals,
        ]
        assert any(v is not None for v in numbers)
        assert all(v is None or v >= 9 for v in numbers)
        assert linear_attack(published) == []
        response = await hub.http.get(
            "/statistics.csv",
            params={"measure": "CASES", "rows": "DESTINATION_COUNTRY", "columns": "SEX"},
            headers={"Authorization": f"Bearer {await hub.token(COORDINATOR)}"},
        )
        values = [v for line in csv.reader(io.StringIO(response.text)) for v in line[1:]]
        assert all(not v.isdigit() or int(v) >= 9 for v in values)
