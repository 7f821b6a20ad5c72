"""Staff members' display names, for pages that say which person did or saw something."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from orgs.staff_models import StaffMember
from store.engine import Database


async def display_names(db: Database, staff_ids: Iterable[str]) -> dict[str, str]:
    """Display names by staff id, in one query; an unknown id is simply absent."""
    wanted = sorted(set(staff_ids))
    if not wanted:
        return {}
    async with db.read() as session:
        rows = await session.execute(
            select(StaffMember.id, StaffMember.display_name).where(StaffMember.id.in_(wanted))
        )
        return {str(sid): str(name) for sid, name in rows}
