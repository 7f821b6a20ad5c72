"""The browser tests' driver reads Chromium's "node does not belong to the document" answer
as a stale element (what it means), and every other error as before."""

from __future__ import annotations

import json

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

from tests.browser.test_console_browser import _ReplacedNodeIsStale


def _answer(message: str) -> dict[str, object]:
    return {
        "status": 500,
        "value": json.dumps({"value": {"error": "unknown error", "message": message}}),
    }


def test_a_node_of_a_replaced_document_reads_as_stale() -> None:
    replaced = 'unknown error: unhandled inspector error: {"code":-32000,"message":"Node with given id does not belong to the document"}'
    with pytest.raises(StaleElementReferenceException):
        _ReplacedNodeIsStale().check_response(_answer(replaced))


def test_other_errors_are_raised_as_they_were() -> None:
    with pytest.raises(WebDriverException) as raised:
        _ReplacedNodeIsStale().check_response(_answer("unknown error: session crashed"))
    assert not isinstance(raised.value, StaleElementReferenceException)
    _ReplacedNodeIsStale().check_response({"status": 0, "value": None})  # success passes
