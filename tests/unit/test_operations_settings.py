"""The operator's settings: who may scrape metrics without a token, and the log format."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.logs import JsonFormatter, WithoutQueryStrings, current_request_id
from gateway.settings import SettingsError, load_settings


def test_metrics_are_closed_and_logs_are_text_by_default() -> None:
    settings = load_settings({})
    assert settings.metrics_allow == () and settings.log_format == "text"


def test_metrics_addresses_are_read_as_networks() -> None:
    settings = load_settings({"HUB_METRICS_ALLOW": "10.1.2.0/24, 127.0.0.1 ,::1"})
    assert settings.metrics_allow == ("10.1.2.0/24", "127.0.0.1/32", "::1/128")


@pytest.mark.parametrize("value", ["10.0.0.0/33", "prometheus.internal", "10.0.0"])
def test_a_metrics_address_that_is_not_one_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="HUB_METRICS_ALLOW"):
        load_settings({"HUB_METRICS_ALLOW": value})


def test_the_log_format_is_text_or_json() -> None:
    assert load_settings({"HUB_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="HUB_LOG_FORMAT"):
        load_settings({"HUB_LOG_FORMAT": "xml"})


def test_a_json_line_keeps_the_known_fields_and_drops_other_extras() -> None:
    record = logging.LogRecord("referral_hub.x", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    record.organization = "org-1"
    record.duration_ms = 1.5
    record.variables = {"fullName": "someone"}  # not a field the formatter copies
    token = current_request_id.set("req-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line.pop("time")
    assert line == {
        "level": "WARNING",
        "logger": "referral_hub.x",
        "message": "a b",
        "organization": "org-1",
        "duration_ms": 1.5,
        "request_id": "req-1",
    }


def test_an_access_line_keeps_the_path_and_drops_the_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/graphql?query=%7B%20case%20Sok%20Dara%20%7D", "1.1", 405),
        None,
    )
    assert WithoutQueryStrings().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == '127.0.0.1:5000 - "GET /graphql HTTP/1.1" 405'
    assert "Sok" not in json.dumps(line)
