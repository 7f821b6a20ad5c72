"""Tamper evidence for the whole record: the audit trail is chained like the disclosure log,
and signed checkpoints held by partners catch a cut tail or a chain recomputed from scratch.

The attacker here has write access to the database file: they drop the append-only
triggers, delete or edit rows, and even recompute every hash. The operator runs
`referral-hub audit verify`; a partner keeps the checkpoints the hub publishes.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
from joserfc.jwk import KeySet

from consent.checkpoint import TYP, read
from gateway.audit_checkpoints import (
    LATEST_PATH,
    CheckpointSchedule,
    checkpoint_now,
    known_keys,
    verify_against,
)
from store.audit import verify_audit
from store.types import utcnow
from tests.api.audit_support import (
    cli,
    drop_guards,
    partners_read,
    recompute_audit_chain,
    tamper,
)
from tests.api.event_support import POLL
from tests.api.test_cases_flow import open_case
from tests.network import RunningHub, Template, serve_hub


async def test_a_fresh_record_verifies_against_the_checkpoint_it_signed(hub: RunningHub) -> None:
    await partners_read(hub, 3)
    made = await checkpoint_now(hub.db, hub.settings)
    assert made is not None
    assert made.disclosure_entries == 3
    assert made.audit_entries == await hub.scalar("SELECT COUNT(*) FROM audit") - 1

    report = await verify_against(hub.db, None)

    assert report.intact, report.problems
    assert report.checkpoint is not None and report.checkpoint.id == made.id
    assert report.checkpoint.verified
    # the checkpoint's own audit entry followed it: the chain is one longer than it counted
    assert report.audit.entries == made.audit_entries + 1
    assert report.disclosures.entries == 3


async def test_deleting_the_newest_disclosures_is_caught_as_truncation(
    hub: RunningHub, tmp_path: Path
) -> None:
    await partners_read(hub, 5)
    made = await cli(hub, "audit", "checkpoint", cwd=tmp_path)
    assert made.code == 0, made.err

    # When someone drops the trigger and deletes the two newest disclosure entries
    await drop_guards(hub, "disclosures")
    await tamper(hub, "DELETE FROM disclosures WHERE id > 3")
    assert await hub.scalar("SELECT COUNT(*) FROM disclosures") == 3

    # Then the chain alone still looks whole, which is why the checkpoint is needed
    report = await verify_against(hub.db, None)
    assert report.disclosures.intact
    assert report.problems == ("disclosure log truncated: 3 entries, the checkpoint counted 5",)
    # and the operator's command says so and exits 1
    verified = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert verified.code == 1
    assert "disclosure log truncated: 3 entries, the checkpoint counted 5" in verified.err
    assert "disclosure log intact" not in verified.out
    assert "audit trail intact" in verified.out


async def test_an_edited_audit_entry_fails_verify(hub: RunningHub, tmp_path: Path) -> None:
    before = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert before.code == 0, before.err
    assert "audit trail intact" in before.out
    target = await hub.scalar(
        "SELECT seq FROM audit WHERE action = 'organization.activate' ORDER BY seq LIMIT 1"
    )
    assert target is not None

    # When someone rewrites who did it
    await drop_guards(hub, "audit")
    await tamper(hub, "UPDATE audit SET actor_client_id = 'nobody' WHERE seq = :s", s=target)

    verified = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert verified.code == 1
    assert verified.err.strip() == (
        f"audit trail broken at entry {target}: content does not match its hash"
    )
    assert "audit trail intact" not in verified.out


async def test_a_deleted_audit_entry_in_the_middle_fails_verify(hub: RunningHub) -> None:
    await drop_guards(hub, "audit")
    await tamper(hub, "DELETE FROM audit WHERE seq = 2")

    report = await verify_against(hub.db, None)

    assert not report.intact
    assert report.problems == ("audit trail broken at entry 3: entry 2 is missing",)


async def test_a_recomputed_audit_chain_fails_against_the_checkpoint(
    hub: RunningHub, tmp_path: Path
) -> None:
    made = await checkpoint_now(hub.db, hub.settings)
    assert made is not None
    kept = tmp_path / "partner-copy.jws"
    kept.write_text(made.jws)

    # When someone edits an old entry and recomputes every hash after it
    await drop_guards(hub, "audit")
    await tamper(hub, "UPDATE audit SET actor_client_id = 'nobody' WHERE seq = 1")
    await recompute_audit_chain(hub)

    report = await verify_against(hub.db, None)
    assert report.audit.intact  # the chain on its own fits together again
    assert report.problems == (
        f"audit trail recomputed: entry {made.audit_entries} differs from the checkpoint",
    )
    # a partner's kept copy catches it even if the stored checkpoints are deleted too
    await tamper(hub, "DELETE FROM audit_checkpoints")
    alone = await cli(hub, "audit", "verify", cwd=tmp_path)
    assert alone.code == 0, alone.err
    assert "no checkpoint to compare with" in alone.out
    against_copy = await cli(hub, "audit", "verify", "--checkpoint", str(kept), cwd=tmp_path)
    assert against_copy.code == 1
    assert "audit trail recomputed" in against_copy.err
    assert "signature verified" in against_copy.out


async def test_a_forged_checkpoint_is_refused(hub: RunningHub, tmp_path: Path) -> None:
    made = await checkpoint_now(hub.db, hub.settings)
    assert made is not None
    header, payload, signature = made.jws.split(".")
    # a checkpoint claiming fewer entries, under the hub's header and signature
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["disclosures"]["entries"] = 0
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    forged = tmp_path / "forged.jws"
    forged.write_text(f"{header}.{forged_payload}.{signature}")

    result = await cli(hub, "audit", "verify", "--checkpoint", str(forged), cwd=tmp_path)

    assert result.code == 1
    assert "checkpoint refused: checkpoint does not verify" in result.err


async def test_partners_fetch_the_latest_checkpoint_and_check_it_with_the_published_jwks(
    hub: RunningHub,
) -> None:
    token = await hub.token("adhoc")
    bearer = {"Authorization": f"Bearer {token}"}
    empty = await hub.http.get(LATEST_PATH, headers=bearer)
    assert empty.status_code == 404

    first = await checkpoint_now(hub.db, hub.settings)
    await partners_read(hub, 2)
    second = await checkpoint_now(hub.db, hub.settings)
    assert first is not None and second is not None

    # A partner without a token gets nothing
    anonymous = await hub.http.get(LATEST_PATH)
    assert anonymous.status_code == 401
    forged_token = await hub.http.get(LATEST_PATH, headers={"Authorization": "Bearer x.y.z"})
    assert forged_token.status_code == 401

    # With one it gets the newest, and checks it with keys from the JWKS alone (PyJWT)
    latest = await hub.http.get(LATEST_PATH, headers=bearer)
    assert latest.status_code == 200
    assert latest.headers["content-type"] == "application/jose"
    assert latest.text == second.jws
    async with httpx.AsyncClient() as outside:
        jwks = (await outside.get(f"{hub.base_url}/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(latest.text)
    assert header["typ"] == TYP
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.api_jws.decode_complete(latest.text, key.key, algorithms=["ES256"])
    assert b'"disclosures":{"entries":2' in claims["payload"]
    assert read(latest.text, jwks).disclosure_entries == 2

    # and a key that is not the hub's does not verify it
    stranger = KeySet.generate_key_set("EC", "P-256", count=1).as_dict(private=False)
    stranger["keys"][0]["kid"] = header["kid"]
    try:
        read(latest.text, stranger)
    except Exception as exc:
        assert "does not verify" in str(exc)
    else:
        raise AssertionError("a stranger's key verified the hub's checkpoint")

    # The checkpoint also reached every active member as an event
    polled = await hub.gql("adhoc", POLL, {"first": 500, "topics": ["ORGANIZATION"]})
    assert not polled.errors, polled.errors
    types = [e["type"] for e in polled.data["events"]["events"]]
    assert types.count("AUDIT_CHECKPOINT") == 2


async def test_the_checkpoint_event_carries_the_signed_checkpoint(hub: RunningHub) -> None:
    made = await checkpoint_now(hub.db, hub.settings)
    assert made is not None
    query = (
        "query { events(first: 500, topics: [ORGANIZATION]) { events { type subjectId payload } } }"
    )
    polled = await hub.gql("embassy-bangkok", query)
    assert not polled.errors, polled.errors
    [event] = [e for e in polled.data["events"]["events"] if e["type"] == "AUDIT_CHECKPOINT"]
    assert event["subjectId"] == made.id
    assert event["payload"]["checkpoint"] == made.jws
    assert event["payload"]["audit"] == {"entries": made.audit_entries, "head": made.audit_head}
    assert read(event["payload"]["checkpoint"], await known_keys(hub.db)).verified


async def test_the_scheduler_signs_a_checkpoint_when_the_record_grew(hub: RunningHub) -> None:
    schedule = CheckpointSchedule(hub.db, hub.settings.with_overrides(checkpoint_interval=60))
    now = utcnow()

    first = await schedule.run_once(now)
    assert first is not None
    # not again within the interval, nor after it when nothing but its own entry was added
    assert await schedule.run_once(now + timedelta(seconds=30)) is None
    assert await schedule.run_once(now + timedelta(seconds=61)) is None
    await partners_read(hub, 1)
    second = await schedule.run_once(now + timedelta(seconds=61))
    assert second is not None
    assert second.disclosure_entries == 1
    assert await hub.scalar("SELECT COUNT(*) FROM audit_checkpoints") == 2


async def test_a_running_hub_checkpoints_on_its_own_schedule(template: Template) -> None:
    async with serve_hub(template, scheduler_interval=0.2, checkpoint_interval=1) as running:
        for _ in range(100):
            if await running.scalar("SELECT COUNT(*) FROM audit_checkpoints"):
                break
            await asyncio.sleep(0.1)
        token = await running.token("ngo-thailand")
        latest = await running.http.get(LATEST_PATH, headers={"Authorization": f"Bearer {token}"})
        assert latest.status_code == 200
        checkpoint = read(latest.text, await known_keys(running.db))
        assert checkpoint.verified
        # it counted everything before its own audit entry, which the scheduler wrote
        own = await running.scalar(
            "SELECT seq FROM audit WHERE subject_id = :id AND actor_client_id = 'scheduler'",
            id=checkpoint.id,
        )
        assert checkpoint.audit_entries == own - 1


async def test_shelters_writing_at_once_extend_one_unforked_audit_chain(
    hub: RunningHub,
) -> None:
    owners = ("ccpcr-koh-kong", "ccpcr-shelter")
    for owner in owners:
        await hub.token(owner)
    before = await hub.scalar("SELECT COUNT(*) FROM audit")

    # When two shelters open twelve cases at the same moment (each writes one audit entry)
    await asyncio.gather(*(open_case(hub, owners[i % 2]) for i in range(12)))

    async with hub.db.read() as session:
        report = await verify_audit(session)
    assert report.intact, report
    assert report.entries == before + 12
    assert await hub.scalar("SELECT COUNT(DISTINCT prev_hash) FROM audit") == before + 12
    assert await hub.scalar("SELECT MAX(seq) FROM audit") == before + 12
