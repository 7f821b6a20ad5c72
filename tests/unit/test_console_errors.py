"""Every documented error code reads, in every language, as the console's own words."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.console.catalogs import po_files, read_catalog
from gateway.console.errors import CSRF, ERROR_MESSAGES, error_message
from store.errors import ErrorCode

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_codes() -> set[str]:
    """The codes of README's "extensions.code" table (the public list)."""
    text = README.read_text()
    start = text.index("Every GraphQL error carries `extensions.code`")
    table = text[start : text.index("\n\n", text.index("| code |", start))]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.MULTILINE))


def test_the_readme_table_is_read() -> None:
    codes = documented_codes()
    assert {"UNAUTHENTICATED", "NOT_FOUND", "CONSENT_REQUIRED", "PAYLOAD_TOO_LARGE"} <= codes


def test_every_documented_code_has_a_message_in_english_and_khmer() -> None:
    codes = documented_codes() | {c.value for c in ErrorCode} | {CSRF}
    missing = sorted(codes - set(ERROR_MESSAGES))
    assert missing == [], f"no console message for {missing}"
    catalogs = {
        po.parent.parent.name: {str(m.id): str(m.string) for m in read_catalog(po) if m.id}
        for po in po_files()
    }
    assert {"en", "km"} <= set(catalogs)
    for code in codes:
        message = ERROR_MESSAGES[code]
        for locale, messages in catalogs.items():
            assert messages.get(message, "").strip(), (code, locale)
        assert re.search("[\u1780-\u17ff]", catalogs["km"][message]), code


def test_an_unknown_code_never_shows_its_own_text() -> None:
    assert error_message("this operation needs the 'x' scope") == ERROR_MESSAGES["INTERNAL"]
