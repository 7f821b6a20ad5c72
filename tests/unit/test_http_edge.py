"""The pure rules of the HTTP edge: media types, request shapes, input checks, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.graphql_request import check_media_type, check_method, from_post, from_query_string
from gateway.http_errors import GRAPHQL_RESPONSE_JSON, JSON, HttpRefusal, response_media_type
from gateway.settings import SettingsError, load_settings
from schema.input_checks import aware_datetime, variables_problem
from store.errors import ErrorCode


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("text/html", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=oops", JSON),
    ],
)
def test_the_response_media_type_follows_accept(accept: str | None, media: str) -> None:
    assert response_media_type(accept) == media


def refusal(call: object, *args: object) -> HttpRefusal:
    with pytest.raises(HttpRefusal) as refused:
        call(*args)  # type: ignore[operator]
    return refused.value


def test_methods_other_than_post_are_refused_with_allow() -> None:
    check_method("POST", False)
    check_method("GET", True)
    for method, allow_get, allow in (("GET", False, "POST"), ("PUT", True, "GET, POST")):
        refused = refusal(check_method, method, allow_get)
        assert (refused.status, refused.code) == (405, ErrorCode.METHOD_NOT_ALLOWED)
        assert refused.headers == [("Allow", allow)]


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "application/json; charset=latin-1", "application/graphql"],
)
def test_only_json_in_utf8_is_read(content_type: str | None) -> None:
    refused = refusal(check_media_type, content_type)
    assert (refused.status, refused.code) == (415, ErrorCode.UNSUPPORTED_MEDIA_TYPE)


def test_a_well_formed_body_becomes_one_request() -> None:
    check_media_type("Application/JSON; charset=UTF-8")
    data = from_post("application/json", b'{"query": "{ a }", "variables": {"x": [1]}}')
    assert (data.query, data.variables, data.operation_name) == ("{ a }", {"x": [1]}, None)
    got = from_query_string({"query": "{ a }", "variables": '{"x": 1}', "operationName": "A"})
    assert (got.query, got.variables, got.operation_name) == ("{ a }", {"x": 1}, "A")


def test_surrogates_nul_and_depth_in_variables_are_named_without_values() -> None:
    assert variables_problem({"a": ["text", {"b": "\u00e9"}]}) is None
    assert variables_problem(None) is None
    for variables in ({"a": "x\udc00"}, {"\ud800": 1}, {"a": [{"b": "x\x00"}]}):
        problem = variables_problem(variables)
        assert problem is not None and "x" not in problem.replace("text", "")
    deep: object = "leaf"
    for _ in range(10_000):
        deep = [deep]
    assert "nested" in str(variables_problem({"a": deep}))


def test_date_times_need_their_offset() -> None:
    assert aware_datetime("2030-01-01T00:00:00Z") == datetime(2030, 1, 1, tzinfo=UTC)
    plus7 = aware_datetime("2030-01-01T07:00:00+07:00")
    assert plus7.utcoffset() == timedelta(hours=7)
    assert plus7 == datetime(2030, 1, 1, tzinfo=UTC)
    for naive in ("2030-01-01T00:00:00", "2030-01-01", "tomorrow", "", 20300101, None):
        with pytest.raises(ValueError):
            aware_datetime(naive)


def test_get_is_off_unless_turned_on() -> None:
    assert load_settings({}).graphql_get is False
    assert load_settings({"HUB_GRAPHQL_GET": "true"}).graphql_get is True
    assert load_settings({"HUB_GRAPHQL_GET": "0"}).graphql_get is False
    with pytest.raises(SettingsError):
        load_settings({"HUB_GRAPHQL_GET": "maybe"})
