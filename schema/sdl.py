"""The schema as SDL, checked in as ``schema.graphql``, and what changed since the release.

Regenerate the checked-in file after changing the schema:

    .venv/bin/python -m schema.sdl > schema.graphql

List the breaking and dangerous changes since the last release (``schema/released.graphql``),
marking those allowed in ``schema/allowed-changes.txt``:

    .venv/bin/python -m schema.sdl --changes

At a release, copy ``schema.graphql`` over ``schema/released.graphql`` and empty the
allow-list. Partners' clients and gateways are built against the released schema: a change
that breaks them (a field removed, a type changed) or may (an enum value or argument added,
a default changed) is shown here and needs a reason before it ships.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLSchema, find_breaking_changes, find_dangerous_changes
from graphql import build_schema as build_from_sdl

HERE = Path(__file__).resolve().parent
RELEASED = HERE / "released.graphql"
ALLOWED = HERE / "allowed-changes.txt"
CHECKED_IN = HERE.parent / "schema.graphql"


def current_sdl() -> str:
    """The SDL of the schema the hub serves (a federation subgraph), as checked in."""
    from schema.build import build_schema

    return build_schema(introspection=True).as_str().rstrip("\n") + "\n"


def parse_sdl(sdl: str) -> GraphQLSchema:
    # The federation directives (@link, @key, …) are applied but not defined in a subgraph's
    # SDL; the comparison is about types, fields and arguments, so skip SDL validation.
    return build_from_sdl(sdl, assume_valid_sdl=True)


@dataclass(frozen=True, slots=True)
class Change:
    severity: str  # BREAKING or DANGEROUS
    kind: str  # graphql-core's change type, e.g. FIELD_CHANGED_KIND
    description: str  # graphql-core's words, e.g. "Query.cases changed type from …"


def changes(old_sdl: str, new_sdl: str) -> list[Change]:
    """Breaking, then dangerous changes from ``old_sdl`` to ``new_sdl``, as graphql-core
    finds them."""
    old, new = parse_sdl(old_sdl), parse_sdl(new_sdl)
    breaking = find_breaking_changes(old, new)
    dangerous = find_dangerous_changes(old, new)
    return [Change("BREAKING", c.type.name, c.description) for c in breaking] + [
        Change("DANGEROUS", c.type.name, c.description) for c in dangerous
    ]


def allowed_changes(text: str) -> dict[str, str]:
    """The allow-list: one ``description  # reason`` per line (``#`` lines are comments)."""
    allowed: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        description, _, reason = line.partition("  # ")
        allowed[description.strip()] = reason.strip()
    return allowed


def since_release() -> tuple[list[Change], dict[str, str]]:
    """Changes from the released schema to the code's, and the allow-list."""
    found = changes(RELEASED.read_text(encoding="utf-8"), current_sdl())
    return found, allowed_changes(ALLOWED.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    if argv[1:] == ["--changes"]:
        found, allowed = since_release()
        for change in found:
            mark = "allowed" if allowed.get(change.description) else "NOT ALLOWED"
            print(f"{change.severity} {change.kind} [{mark}] {change.description}")
        return 1 if any(not allowed.get(c.description) for c in found) else 0
    if argv[1:]:
        print("usage: python -m schema.sdl [--changes]", file=sys.stderr)
        return 2
    sys.stdout.write(current_sdl())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
