"""Migration 0018 adds people to the hub: staff tables, and the person beside the
organisation in both chains. Existing entries keep their hashes, both ways."""

from __future__ import annotations

from sqlalchemy import text

from orgs.staff_rules import StaffRole
from store.audit import verify_audit
from store.migrate import upgrade
from tests.api.console_support import enrol
from tests.api.test_free_text_migration import downgrade
from tests.network import RunningHub


async def _chain_ok(hub: RunningHub) -> int:
    async with hub.db.read() as session:
        report = await verify_audit(session)
    assert report.first_broken is None, report
    return report.entries


async def test_the_chains_verify_before_and_after_people_appear(hub: RunningHub) -> None:
    before = await _chain_ok(hub)
    await enrol(hub, "adhoc", StaffRole.CASEWORKER, "mig@adhoc.example")
    assert await _chain_ok(hub) > before
    await hub.db.dispose()
    url = hub.settings.database_url

    await downgrade(url, "0018_places")
    async with hub.db.read() as session:
        tables = await session.execute(text("SELECT * FROM audit LIMIT 1"))
        assert "actor_staff_id" not in tables.keys()
    await hub.db.dispose()

    await upgrade(url)
    assert await _chain_ok(hub) > before
    account = await enrol(hub, "adhoc", StaffRole.VIEWER, "again@adhoc.example")
    assert account.recovery


async def test_no_downgrade_once_a_person_is_named_in_a_chain(hub: RunningHub) -> None:
    import pytest

    from store.actor import acting_as
    from store.audit import record_audit

    async with hub.db.write() as session:
        with acting_as("00000000-0000-0000-0000-00000000abcd"):
            await record_audit(
                session,
                actor_organization_id=None,
                actor_client_id=None,
                action="staff.sign_out_everywhere",
                subject_type="Staff",
                subject_id="00000000-0000-0000-0000-00000000abcd",
            )
    await hub.db.dispose()
    with pytest.raises(RuntimeError, match="name a person"):
        await downgrade(hub.settings.database_url, "0018_places")
    # Nothing was lost: still at 0018, the chain whole.
    assert await _chain_ok(hub) > 0
