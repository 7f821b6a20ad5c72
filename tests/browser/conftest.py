"""Shared by the browser tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _quiet_selenium_client() -> Iterator[None]:
    """Selenium's client logs every command it sends at DEBUG, the words a test types
    included: the test's own input echoed back, not anything the hub said, and it would
    trip the run-wide survivor-marker watch on every ``planted`` value a test types. The
    hub's own loggers stay at DEBUG and stay watched."""
    echo = logging.getLogger("selenium.webdriver.remote.remote_connection")
    level = echo.level
    echo.setLevel(logging.INFO)
    try:
        yield
    finally:
        echo.setLevel(level)
