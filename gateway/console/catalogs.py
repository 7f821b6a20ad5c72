"""Compile the console's .po sources into the .mo files shipped in the package.

    python -m gateway.console.catalogs

A test checks that every shipped .mo matches its .po, so a translation edited without
compiling fails CI instead of silently not showing.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from gateway.console.i18n import DOMAIN, LOCALES_DIR


def po_files() -> list[Path]:
    return sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_catalog(po: Path) -> Catalog:
    with po.open("rb") as source:
        return read_po(source, locale=po.parent.parent.name, domain=DOMAIN)


def compiled(po: Path) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(po), use_fuzzy=False)
    return buffer.getvalue()


def main() -> None:
    for po in po_files():
        po.with_suffix(".mo").write_bytes(compiled(po))
        print(f"compiled {po.with_suffix('.mo').relative_to(LOCALES_DIR)}")


if __name__ == "__main__":
    main()
