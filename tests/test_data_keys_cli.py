"""The operator's `keys rotate-data` and `audit verify`, run as real processes on a real
SQLite file.

A hub's survivor data is sealed under data keys that must rotate, and its disclosure log
must show any edit, deletion or reordering, even by someone with the database file in hand.
These exercise the command line, so they always use SQLite.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cases import service as cases
from cases.rules import AgeBand, Sex
from consent import service as consents
from consent.rules import ConsentMethod, DataCategory, Grantor, Purpose
from orgs import service as orgs
from orgs.principal import Principal, operator
from orgs.rules import MembershipAction, OrganizationKind
from store.engine import Database
from store.key_store import key_store_path
from store.sealed import FieldCipher, SealError

TIMEOUT = 60
K1 = os.urandom(32)
K2 = os.urandom(32)
CASES = 4
READS = 3  # by legal aid, of each case


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def survivor(n: int) -> dict[str, object]:
    return {
        "fullName": f"Sothea Rotationcase {n}",
        "phone": f"+855 12 000 {n:03d}",
        "healthNotes": f"check-up {n} due",
        "legalNotes": f"statement {n} filed",
        "estimatedAge": 20 + n,
    }


def cli_env(db: Path, data_keys: str) -> dict[str, str]:
    """A fresh operator shell: no HUB_ settings (not even the test suite's) but these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=f"sqlite+aiosqlite:///{db}", HUB_DATA_KEYS=data_keys)
    return env


def run(db: Path, data_keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=db.parent,
        env=cli_env(db, data_keys),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def sql(db: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(statement, params).fetchall()
    conn.close()
    return rows


@dataclass
class Network:
    owner: Principal
    legal_aid: Principal
    case_ids: list[str]


def member(org_id: str, kind: OrganizationKind, request_id: str | None = None) -> Principal:
    return Principal(
        organization_id=org_id,
        client_id=f"{kind.value.lower()}-system",
        scopes=frozenset({"cases:read", "cases:write", "consent:write", "pii:read"}),
        organization_kind=kind.value,
        request_id=request_id,
    )


async def join(db: Database, name: str, kind: OrganizationKind) -> str:
    org = await orgs.register_organization(
        db, operator(), orgs.NewOrganization(name=name, kind=kind, country="KH")
    )
    await orgs.change_membership(db, operator(), org.id, MembershipAction.ACTIVATE, "joins")
    return org.id


async def populate(url: str) -> Network:
    """Two members; cases sealed under k1; consent to legal aid, which reads each case."""
    db = Database(url)
    try:
        shelter = member(
            await join(db, "Shelter", OrganizationKind.SERVICE_PROVIDER),
            OrganizationKind.SERVICE_PROVIDER,
        )
        legal = await join(db, "Legal aid", OrganizationKind.LEGAL_AID)
        k1 = FieldCipher({"k1": K1}, "k1")
        case_ids = []
        for n in range(CASES):
            view = await cases.create_case(
                db,
                shelter,
                k1,
                cases.NewCase(age_band=AgeBand.AGE_21_23, sex=Sex.FEMALE, survivor=survivor(n)),
            )
            case_ids.append(view.case.id)
            await consents.record_consent(
                db,
                shelter,
                consents.NewConsent(
                    case_id=view.case.id,
                    grantor=Grantor.SURVIVOR,
                    method=ConsentMethod.WRITTEN,
                    purposes=[Purpose.LEGAL_AID],
                    categories=[DataCategory.IDENTITY, DataCategory.LEGAL],
                    recipient_organization_ids=[legal],
                ),
                k1,
            )
        for read in range(READS):
            for case_id in case_ids:
                seen = await cases.read_cases(
                    db,
                    member(legal, OrganizationKind.LEGAL_AID, f"req-{read}-{case_id[:8]}"),
                    k1,
                    case_ids=[case_id],
                )
                assert seen[0].values["legalNotes"].startswith("statement")
        return Network(shelter, member(legal, OrganizationKind.LEGAL_AID), case_ids)
    finally:
        await db.dispose()


@dataclass
class Built:
    db: Path
    network: Network


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """`db upgrade` by the command line, then a small network written by the services."""
    db = tmp_path_factory.mktemp("keys") / "hub.db"
    upgraded = run(db, f"k1:{b64(K1)}", "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    network = asyncio.run(populate(f"sqlite+aiosqlite:///{db}"))
    sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    sql(Path(key_store_path(str(db))), "PRAGMA wal_checkpoint(TRUNCATE)")
    yield Built(db, network)


@pytest.fixture
def built(populated: Built, tmp_path: Path) -> Built:
    """A copy of the populated database file for one test."""
    target = tmp_path / "hub.db"
    shutil.copyfile(populated.db, target)
    # The whole installation: the data and its key store (store/key_store.py).
    shutil.copyfile(key_store_path(str(populated.db)), key_store_path(str(target)))
    return Built(target, populated.network)


async def open_all(db: Path, network: Network, cipher: FieldCipher) -> list[dict[str, object]]:
    """Every case's survivor data, as its owner reads it with ``cipher``."""
    database = Database(f"sqlite+aiosqlite:///{db}")
    try:
        views = await cases.read_cases(database, network.owner, cipher, case_ids=network.case_ids)
    finally:
        await database.dispose()
    by_id = {v.case.id: v.values for v in views}
    return [by_id[case_id] for case_id in network.case_ids]


def key_ids(db: Path) -> dict[str, int]:
    """How many case keys each data key wraps (survivor fields are sealed under case keys)."""
    counts: dict[str, int] = {}
    # The case keys live in the key store beside the database (store/key_store.py).
    for (wrapped,) in sql(Path(key_store_path(str(db))), "SELECT wrapped FROM case_keys"):
        kid = str(wrapped).split(".")[1]
        counts[kid] = counts.get(kid, 0) + 1
    return counts


def sealed_fields(db: Path) -> list[str]:
    return [str(s) for (s,) in sql(db, "SELECT sealed FROM case_fields ORDER BY case_id, field")]


FIELDS = CASES * len(survivor(0))
ROTATED = f"k2:{b64(K2)},k1:{b64(K1)}"


async def test_rotate_data_rewraps_every_case_key_under_the_newest_key(built: Built) -> None:
    assert key_ids(built.db) == {"k1": CASES}
    fields = sealed_fields(built.db)
    assert len(fields) == FIELDS and all(f.startswith("c1.") for f in fields)

    # When the operator puts a new key first and rotates
    result = run(built.db, ROTATED, "keys", "rotate-data")

    # Then every value is sealed under it, and opens with it alone
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"current_key": "k2", "resealed": CASES}
    assert key_ids(built.db) == {"k2": CASES}
    # the values themselves were not touched: only their keys were re-wrapped
    assert sealed_fields(built.db) == fields
    only_k2 = await open_all(built.db, built.network, FieldCipher({"k2": K2}, "k2"))
    assert [v["fullName"] for v in only_k2] == [survivor(n)["fullName"] for n in range(CASES)]
    assert [v["estimatedAge"] for v in only_k2] == [20 + n for n in range(CASES)]
    # so the old key can be retired: it opens nothing any more
    with pytest.raises(SealError):
        await open_all(built.db, built.network, FieldCipher({"k1": K1}, "k1"))

    # Running it again finds nothing left to do
    again = run(built.db, ROTATED, "keys", "rotate-data")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"current_key": "k2", "resealed": 0}


class Interrupted(Exception):
    """The process died between two batches."""


class DiesAfter(Database):
    """A database whose process dies after ``batches`` write transactions."""

    def __init__(self, url: str, batches: int) -> None:
        super().__init__(url)
        self.batches = batches

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        if self.batches == 0:
            raise Interrupted
        self.batches -= 1
        async with super().write() as session:
            yield session


async def test_an_interrupted_rotation_finishes_when_run_again(built: Built) -> None:
    # Given a rotation that died after its first two batches of one case key
    dying = DiesAfter(f"sqlite+aiosqlite:///{built.db}", batches=2)
    try:
        with pytest.raises(Interrupted):
            await cases.reseal_data(dying, FieldCipher({"k2": K2, "k1": K1}, "k2"), batch=1)
    finally:
        await dying.dispose()
    assert key_ids(built.db) == {"k2": 2, "k1": CASES - 2}
    # meanwhile the hub, holding both keys, still opens everything
    both = await open_all(built.db, built.network, FieldCipher({"k2": K2, "k1": K1}, "k2"))
    assert [v["phone"] for v in both] == [survivor(n)["phone"] for n in range(CASES)]

    # When the operator runs it again, it finishes the rest
    result = run(built.db, ROTATED, "keys", "rotate-data")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"current_key": "k2", "resealed": CASES - 2}
    assert key_ids(built.db) == {"k2": CASES}
    only_k2 = await open_all(built.db, built.network, FieldCipher({"k2": K2}, "k2"))
    assert [v["legalNotes"] for v in only_k2] == [survivor(n)["legalNotes"] for n in range(CASES)]


ENTRIES = CASES * READS


def verify(db: Path) -> subprocess.CompletedProcess[str]:
    return run(db, f"k1:{b64(K1)}", "audit", "verify")


def as_attacker(db: Path, *statements: str) -> None:
    """Someone with the database file: drops the append-only triggers, then edits."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER disclosures_no_update")
        conn.execute("DROP TRIGGER disclosures_no_delete")
        for statement in statements:
            conn.execute(statement)
    conn.close()


def test_audit_verify_accepts_an_intact_log(built: Built) -> None:
    rows = sql(built.db, "SELECT organization_id, categories, channel FROM disclosures")
    legal = built.network.legal_aid.organization_id
    assert len(rows) == ENTRIES
    assert {(o, json.dumps(json.loads(str(c))), ch) for o, c, ch in rows} == {
        (legal, json.dumps(["IDENTITY", "LEGAL"]), "QUERY")
    }
    result = verify(built.db)
    assert result.returncode == 0, result.stderr
    assert f"disclosure log intact: {ENTRIES} entries" in result.stdout.splitlines()


def test_the_log_refuses_edits_without_dropping_its_triggers(built: Built) -> None:
    for statement in (
        "UPDATE disclosures SET categories = '[\"LEGAL\"]' WHERE id = 5",
        "DELETE FROM disclosures WHERE id = 5",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            sql(built.db, statement)
    assert verify(built.db).returncode == 0


@pytest.mark.parametrize(
    ("tampering", "reported"),
    [
        (
            ["UPDATE disclosures SET categories = '[\"LEGAL\"]' WHERE id = 5"],
            "disclosure log broken at entry 5: content does not match its hash",
        ),
        (
            ["UPDATE disclosures SET request_id = 'someone-else' WHERE id = 7"],
            "disclosure log broken at entry 7: content does not match its hash",
        ),
        (
            ["DELETE FROM disclosures WHERE id = 5"],
            "disclosure log broken at entry 6: entry 5 is missing",
        ),
        (
            [
                "UPDATE disclosures SET id = -1 WHERE id = 4",
                "UPDATE disclosures SET id = 4 WHERE id = 5",
                "UPDATE disclosures SET id = 5 WHERE id = -1",
            ],
            "disclosure log broken at entry 4: does not follow the entry before it",
        ),
    ],
    ids=["categories edited", "request id edited", "middle entry deleted", "two entries swapped"],
)
def test_audit_verify_names_the_first_broken_entry(
    built: Built, tampering: list[str], reported: str
) -> None:
    as_attacker(built.db, *tampering)
    result = verify(built.db)
    assert result.returncode == 1, (result.stdout, result.stderr)
    # The database it checked, then the one line naming the first broken entry.
    assert result.stderr.strip().splitlines() == [
        f"referral-hub: database sqlite+aiosqlite:///{built.db}",
        reported,
    ]
    assert "disclosure log intact" not in result.stdout
