"""places as ISO 3166 codes in the service directory

Each service's ``areas_served`` names ("Koh Kong", "KH") become ISO 3166 codes ("KH-9", "KH").
A name that is no known place is kept as written, so nothing is lost, and reported in the
migration log for the coordinator to fix (the next update of that service must name places).
Downgrade leaves the codes: the older code compares areas as plain strings, and a code is one.

Revision ID: 0018_places
Revises: 0017_case_keys
"""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa
from alembic import op

from orgs.places import find_place

revision = "0018_places"
down_revision = "0017_case_keys"
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
    pass
