"""Every word of the console exists in every language, and the shipped catalogs are current."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.console.catalogs import compiled, po_files, read_catalog
from gateway.console.i18n import LOCALES_DIR, Formatter, available_locales, pick_locale

TEMPLATES = Path(LOCALES_DIR).parent / "templates"


def _ids(po: Path) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in read_catalog(po) if m.id}


def test_english_and_khmer_are_shipped() -> None:
    assert available_locales()[:1] == ("en",)
    assert "km" in available_locales()


def test_every_message_has_every_language() -> None:
    catalogs = {po.parent.parent.name: _ids(po) for po in po_files()}
    english = catalogs["en"]
    for locale, messages in catalogs.items():
        assert set(messages) == set(english), locale
        empty = [k for k, v in messages.items() if not v.strip()]
        assert empty == [], (locale, empty)
    khmer = catalogs["km"]
    # Khmer is written in Khmer script, not left in English.
    untranslated = [k for k, v in khmer.items() if not re.search("[\u1780-\u17ff]", v)]
    assert untranslated == []


def test_every_word_the_templates_use_is_in_the_catalogs() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r'_\("([^"]+)"\)', template.read_text()))
    english = _ids(next(p for p in po_files() if p.parent.parent.name == "en"))
    assert used - set(english) == set()


def test_the_compiled_catalogs_match_their_sources() -> None:
    for po in po_files():
        assert po.with_suffix(".mo").read_bytes() == compiled(po), (
            f"{po} changed: run python -m gateway.console.catalogs"
        )


def test_a_language_the_console_lacks_falls_back_to_english() -> None:
    assert pick_locale("th", None) == "en"
    assert pick_locale(None, "km") == "km"


def test_words_and_dates_follow_the_readers_language_and_time_zone() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    khmer = Formatter("km", "Asia/Phnom_Penh")
    assert khmer.gettext("Inbox") == "ប្រអប់ទទួល"
    # 18:30 UTC is 1:30 the next morning in Phnom Penh.
    assert "Mar 2, 2026, 1:30:00" in Formatter("en", "Asia/Phnom_Penh").when(moment)
    assert Formatter("en", "Asia/Phnom_Penh").when(moment) != Formatter("en", "UTC").when(moment)
    assert khmer.when(moment) != Formatter("en", "Asia/Phnom_Penh").when(moment)
