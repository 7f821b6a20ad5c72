"""The console's languages: Babel message catalogs shipped in the package.

A language exists when ``locales/<code>/LC_MESSAGES/console.mo`` does: a translator adds
Thai or Malay by adding a catalog, with no change to the code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "console"
DEFAULT_LOCALE = "en"
DEFAULT_TIME_ZONE = "Asia/Phnom_Penh"


@cache
def available_locales() -> tuple[str, ...]:
    """Every language with a compiled catalog, English first."""
    found = sorted(
        p.name for p in LOCALES_DIR.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()
    )
    return tuple(sorted(found, key=lambda code: code != DEFAULT_LOCALE))


@cache
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALES_DIR), [locale], DOMAIN)


def pick_locale(*wanted: str | None) -> str:
    """The first wanted language the console has, else English."""
    for code in wanted:
        if code and code in available_locales():
            return code
    return DEFAULT_LOCALE


def language_name(code: str) -> str:
    """A language's name in that language (ខ្មែរ, English, ไทย...), from Babel's data."""
    name = Locale.parse(code).get_display_name(code)
    return name or code


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def known_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Formatter:
    """Words, dates and numbers for one page, in the reader's language and time zone."""

    def __init__(self, locale: str, time_zone: str) -> None:
        self.locale = locale
        self.tz = zone(time_zone)
        self._t = translations(locale)

    @property
    def gettext(self) -> Callable[[str], str]:
        return self._t.gettext

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_datetime(moment, "medium", tzinfo=self.tz, locale=self.locale)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)
