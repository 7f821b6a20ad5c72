"""places as ISO 3166 codes in the service directory; the blind index and case links

Each service's ``areas_served`` names ("Koh Kong", "KH") become ISO 3166 codes ("KH-9", "KH").
A name that is no known place is kept as written, so nothing is lost, and reported in the
migration log for the coordinator to fix (the next update of that service must name places).
New tables ``case_blind_index`` (keyed hashes of a person, per data key id) and
``case_links`` (possible duplicates and the owners' agreement to link them) start empty:
cases opened before this revision are indexed by the next ``referral-hub keys rotate-data``
(their names are sealed: indexing them needs the data keys, which a migration does not use).
Downgrade drops the two tables and leaves the codes: the older code compares areas as plain strings, and a code is one.

Revision ID: 0018_places
Revises: 0017_case_keys
"""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa
from alembic import op

import store.types
from orgs.places import find_place

revision = "0018_places"
down_revision = "0018_gaps"
branch_labels = None
depends_on = None

log = logging.getLogger("referral_hub.migrate")


def coded(areas: list[str]) -> tuple[list[str], list[str]]:
    """The areas with every known place as its code (no repeats), and the unknown names."""
    out: list[str] = []
    unknown: list[str] = []
    for area in areas:
        found = find_place(area)
        value = area if found is None else found.code
        if found is None:
            unknown.append(area)
        if value not in out:
            out.append(value)
    return out, unknown


def upgrade() -> None:
    op.create_table(
        "case_blind_index",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_blind_index")),
    )
    op.create_index("ix_case_blind_index_lookup", "case_blind_index", ["key_id", "digest"])
    op.create_index(op.f("ix_case_blind_index_case_id"), "case_blind_index", ["case_id"])
    op.create_table(
        "case_links",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("hint", sa.String(36), nullable=False),
        sa.Column("asking_case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("asked_case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by_organization_id", sa.String(36), nullable=True),
        sa.Column("created_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
    )
    for column in ("hint", "asking_case_id", "asked_case_id"):
        op.create_index(op.f(f"ix_case_links_{column}"), "case_links", [column])
    bind = op.get_bind()
    offers = sa.table("service_offers", sa.column("id"), sa.column("areas_served", sa.JSON()))
    for offer_id, areas in bind.execute(sa.select(offers.c.id, offers.c.areas_served)).all():
        written = json.loads(areas) if isinstance(areas, str) else list(areas or [])
        new, unknown = coded(written)
        for name in unknown:
            log.warning("service %s: area %r is no known place; kept as written", offer_id, name)
        if new != written:
            bind.execute(offers.update().where(offers.c.id == offer_id).values(areas_served=new))


def downgrade() -> None:
    op.drop_table("case_links")
    op.drop_table("case_blind_index")
