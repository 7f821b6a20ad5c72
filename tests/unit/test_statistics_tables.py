"""Tables, files and charts from plain records: rare labels pooled, labels escaped, HTCDS
rows with exactly the declared columns, FHIR resources valid for every referral status."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from cases.fhir_export import (
    STATUS,
    ConsentFacts,
    ReferralFacts,
    bundle,
    consent_resource,
    referral_resources,
)
from cases.htcds import HTCDS_COLUMNS, ExportedCase, htcds_row, pseudonym
from cases.statistics_output import ChartWords, to_csv, to_svg
from cases.statistics_tables import (
    OTHER,
    Dimension,
    Item,
    Measure,
    check_dimensions,
    tabulate,
    time_band,
)
from tests.unit.test_statistics_suppression import linear_attack, subtraction_attack

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _cases(province: str, n: int, sex: str = "FEMALE") -> list[Item]:
    return [
        Item(f"{province}-{sex}-{i}", {Dimension.PROVINCE: (province,), Dimension.SEX: (sex,)})
        for i in range(n)
    ]


def test_a_province_with_fewer_than_k_survivors_is_pooled_not_named() -> None:
    items = _cases("Koh Kong", 12) + _cases("Svay Rieng", 7) + _cases("Mondulkiri", 1)
    table = tabulate(items, Measure.CASES, Dimension.PROVINCE, None, 5)
    assert table.row_labels == ("Koh Kong", "Svay Rieng", OTHER)
    assert table.published.row_totals[0] == 12
    assert table.published.row_totals[2] is None  # one survivor in OTHER
    # ... and OTHER is not the published total minus the named provinces.
    assert subtraction_attack(table.published) == {}
    assert linear_attack(table.published) == []


def test_closed_dimensions_list_every_value_even_empty() -> None:
    table = tabulate(_cases("Koh Kong", 6), Measure.CASES, Dimension.SEX, None, 5)
    assert table.row_labels == ("FEMALE", "MALE", "TRANSGENDER_NONCONFORMING", "UNKNOWN")
    assert table.published.cells[0] == (6,)
    assert table.published.cells[1] == (None,)


def test_one_survivor_with_many_referrals_is_still_one() -> None:
    items = [Item("case-1", {Dimension.SEX: ("FEMALE",)}) for _ in range(9)]
    table = tabulate(items, Measure.REFERRALS, Dimension.SEX, None, 5)
    assert table.published.total is None


@pytest.mark.parametrize(
    ("measure", "rows", "columns"),
    [
        (Measure.CASES, Dimension.ACKNOWLEDGE_TIME, None),
        (Measure.REPATRIATIONS, Dimension.RESPONSE_TIME, None),
        (Measure.CASES, Dimension.SEX, Dimension.SEX),
    ],
)
def test_dimensions_a_measure_lacks_are_refused(
    measure: Measure, rows: Dimension, columns: Dimension | None
) -> None:
    with pytest.raises(ValueError):
        check_dimensions(measure, rows, columns)


def test_time_bands() -> None:
    assert time_band(NOW, None) == "NOT_YET"
    assert time_band(NOW, NOW + timedelta(hours=20)) == "WITHIN_1_DAY"
    assert time_band(NOW, NOW + timedelta(days=2)) == "WITHIN_3_DAYS"
    assert time_band(NOW, NOW + timedelta(days=6)) == "WITHIN_7_DAYS"
    assert time_band(NOW, NOW + timedelta(days=30)) == "LONGER"


def test_labels_are_escaped_in_the_chart_and_defused_in_the_csv() -> None:
    hostile = '=HYPERLINK("x")<script>&'
    items = _cases(hostile, 6) + _cases("Koh Kong", 6, "MALE")
    table = tabulate(items, Measure.CASES, Dimension.PROVINCE, Dimension.SEX, 5)
    svg = to_svg(table)
    root = ElementTree.fromstring(svg)  # well-formed: the label did not break out
    assert "<script>" not in svg
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert hostile in texts and "suppressed" in texts
    lines = list(csv.reader(io.StringIO(to_csv(table))))
    labels = [line[0] for line in lines[1:-1]]
    assert "'" + hostile in labels and hostile not in labels
    assert lines[-1][0] == "TOTAL"


def test_an_htcds_row_has_exactly_the_declared_columns_and_no_case_id() -> None:
    case = ExportedCase(
        "case-1",
        NOW,
        "FEMALE",
        "AGE_9_17",
        "KH",
        {"exploitationTypes": ["FORCED_CRIMINALITY"], "destinationCountry": "MY"},
    )
    row = htcds_row(case, pseudonym(b"k" * 32, "org-a", "case-1"))
    assert tuple(row) == HTCDS_COLUMNS
    assert "case-1" not in row.values()
    assert row["majorityStatus"] == "Minor" and row["isOtherExploit"] == "1"
    assert row["isForcedLabour"] == "0" and row["recruiterRelationFamily"] == ""


def test_pseudonyms_are_stable_per_recipient_and_differ_between_recipients() -> None:
    key = b"k" * 32
    assert pseudonym(key, "org-a", "case-1") == pseudonym(key, "org-a", "case-1")
    assert pseudonym(key, "org-a", "case-1") != pseudonym(key, "org-b", "case-1")
    assert pseudonym(key, "org-a", "case-1") != pseudonym(b"j" * 32, "org-a", "case-1")


@pytest.mark.parametrize("status", sorted(STATUS))
def test_every_referral_status_makes_valid_fhir(status: str) -> None:
    facts = ReferralFacts("r-1", status, "EMERGENCY", ["SHELTER"], "org-a", "org-b", NOW, NOW)
    request, task = referral_resources(facts, "p-1")
    assert request["status"] == STATUS[status][0] and task["status"] == STATUS[status][1]
    assert bundle([request, task])["type"] == "collection"


def test_a_withdrawn_consent_is_inactive_with_its_end() -> None:
    facts = ConsentFacts(
        "g-1",
        2,
        ["STATISTICS"],
        ["LOCATION"],
        [],
        ["GOVERNMENT"],
        NOW - timedelta(days=10),
        None,
        NOW - timedelta(days=1),
        "org-a",
        NOW - timedelta(days=10),
    )
    resource = consent_resource(facts, "p-1", NOW)
    assert resource["status"] == "inactive"
    assert resource["provision"]["period"]["end"].startswith("2026-10-31")
    assert "actor" not in resource["provision"]


def test_a_chart_is_drawn_with_the_reader_s_words_and_the_same_bars() -> None:
    items = _cases("Koh Kong", 6) + _cases("Kampot", 6, "MALE") + _cases("Kep", 2)
    table = tabulate(items, Measure.CASES, Dimension.PROVINCE, Dimension.SEX, 5)
    words = {"CASES": "ករណី", "PROVINCE": "ខេត្ត", "FEMALE": "ស្រី", "MALE": "ប្រុស"}
    translated = to_svg(
        table,
        ChartWords(title="ករណី តាមខេត្ត", suppressed="បានលាក់", label=lambda t: words.get(t, t)),
    )
    plain = to_svg(table)
    ns = "{http://www.w3.org/2000/svg}"
    mine, theirs = ElementTree.fromstring(translated), ElementTree.fromstring(plain)
    assert [r.attrib for r in mine.iter(ns + "rect")] == [
        r.attrib for r in theirs.iter(ns + "rect")
    ]
    texts = [t.text for t in mine.iter(ns + "text")]
    assert {"ករណី តាមខេត្ត", "ខេត្ត", "ករណី", "ស្រី", "ប្រុស", "បានលាក់"} <= set(texts)
    assert not {"suppressed", "FEMALE", "CASES by PROVINCE and SEX"} & set(texts)
    assert "Koh Kong" in texts  # recorded text the words do not know passes unchanged
    endpoint = [t.text for t in theirs.iter(ns + "text")]
    assert "CASES by PROVINCE and SEX" in endpoint and "suppressed" in endpoint
