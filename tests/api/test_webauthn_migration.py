"""Migration 0020 adds security keys and their challenges; down and up again keeps the
people and their other factors."""

from __future__ import annotations

from sqlalchemy import inspect, select

from orgs.staff_models import StaffMember
from orgs.staff_rules import StaffRole
from store.migrate import upgrade
from tests.api.console_support import browser, enrol, sign_in, signed_in
from tests.api.test_free_text_migration import downgrade
from tests.api.webauthn_support import SoftKey, add_key, key_sign_in
from tests.network import RunningHub


async def _tables(hub: RunningHub) -> set[str]:
    async with hub.db.read() as session:
        connection = await session.connection()
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_security_keys_come_and_go_with_0020(hub: RunningHub) -> None:
    account = await enrol(hub, "adhoc", StaffRole.CASEWORKER, "mig20@adhoc.example")
    async with signed_in(hub, account) as client:
        assert (await add_key(client, SoftKey(origin=hub.base_url))).status_code == 200
    assert {"staff_security_keys", "webauthn_challenges"} <= await _tables(hub)
    await hub.db.dispose()
    url = hub.settings.database_url

    await downgrade(url, "0019_groupview")
    assert not {"staff_security_keys", "webauthn_challenges"} & await _tables(hub)
    async with hub.db.read() as session:
        assert (await session.scalars(select(StaffMember))).one().email == account.email
    await hub.db.dispose()

    await upgrade(url)
    async with browser(hub) as client:
        assert (await sign_in(client, account)).status_code == 303
    key = SoftKey(origin=hub.base_url)
    async with signed_in(hub, account) as client:
        assert (await add_key(client, key)).status_code == 200
    async with browser(hub) as client:
        done = await key_sign_in(client, account.email, account.password, key)
        assert done.status_code == 200
