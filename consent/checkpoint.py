"""Signed checkpoints of the audit trail and the disclosure log.

A hash chain shows an edited or removed entry in its middle, but not a tail cut off nor a
chain recomputed from scratch by someone with write access to the database. A checkpoint
closes that gap: the number of entries and the head hash of both chains, signed (ES256
JWS) with the hub's current token-signing key, so anyone holding the published JWKS can
check it. The hub stores each checkpoint and publishes it to every active member (an
outbox event, and ``GET /audit/checkpoints/latest``), so copies live outside the hub.

``audit verify`` then compares the chains with a checkpoint: fewer entries than it counted
means a truncated tail; a different hash at its position means a recomputed chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from consent.disclosure import verify as verify_disclosures
from consent.models import AuditCheckpoint, Disclosure
from notifications.outbox import emit, lock_outbox
from orgs.models import Organization
from orgs.rules import MembershipStatus
from store.audit import AuditEntry, chain_head, lock_chain, record_audit, verify_audit
from store.chain import GENESIS, ChainReport
from store.engine import Database
from store.types import utcnow

ALGORITHM = "ES256"
TYP = "hub-checkpoint+jwt"
EVENT_TYPE = "AUDIT_CHECKPOINT"
AUDIT = "audit trail"
DISCLOSURES = "disclosure log"


class CheckpointSigner(Protocol):
    """The hub's current signing key (``gateway.oauth.keys.ActiveKey`` fits)."""

    @property
    def kid(self) -> str: ...

    @property
    def private_jwk(self) -> dict[str, Any]: ...


class CheckpointError(Exception):
    """A checkpoint that cannot be read or whose signature does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: str
    at: datetime
    issuer: str
    audit_entries: int
    audit_head: str
    disclosure_entries: int
    disclosure_head: str
    kid: str
    jws: str
    verified: bool = True


# --- pure parts -------------------------------------------------------------------------


def claims_of(checkpoint_id: str, at: datetime, issuer: str, heads: dict[str, Any]) -> bytes:
    """The signed payload: counts and head hashes only, nothing about any person."""
    return orjson.dumps(
        {
            "iss": issuer,
            "jti": checkpoint_id,
            "iat": int(at.timestamp()),
            "at": at.isoformat(timespec="microseconds"),
            **heads,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def sign(payload: bytes, signer: CheckpointSigner) -> str:
    header = {"alg": ALGORITHM, "kid": signer.kid, "typ": TYP}
    return jws.serialize_compact(
        header, payload, ECKey.import_key(signer.private_jwk), algorithms=[ALGORITHM]
    )


def _claims(token: str, signed: Any, verified: bool) -> Checkpoint:
    header = signed.headers()
    claims = orjson.loads(signed.payload)
    if header.get("typ") != TYP:
        raise CheckpointError("not a hub checkpoint (typ)")
    return Checkpoint(
        id=str(claims["jti"]),
        at=datetime.fromisoformat(claims["at"]).astimezone(UTC),
        issuer=str(claims["iss"]),
        audit_entries=int(claims["audit"]["entries"]),
        audit_head=str(claims["audit"]["head"]),
        disclosure_entries=int(claims["disclosures"]["entries"]),
        disclosure_head=str(claims["disclosures"]["head"]),
        kid=str(header["kid"]),
        jws=token,
        verified=verified,
    )


def read(token: str, jwks: dict[str, Any]) -> Checkpoint:
    """Check a checkpoint's signature against a JWKS document and return its claims.

    A checkpoint signed by a key that is no longer in ``jwks`` (retired after a rotation)
    is read with ``verified=False``: its counts still catch a cut, and a partner holding
    the JWKS of its day can check the signature. A known key with a bad signature fails.
    """
    token = token.strip()
    try:
        known = {key.get("kid") for key in jwks.get("keys", [])}
        if kid_of(token) not in known:
            return _claims(token, jws.extract_compact(token.encode()), verified=False)
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        signed = jws.deserialize_compact(token, keys, algorithms=[ALGORITHM])
        return _claims(token, signed, verified=True)
    except CheckpointError:
        raise
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint does not verify: {type(exc).__name__}") from None


def kid_of(token: str) -> str | None:
    """The key id in a checkpoint's header, read without checking anything."""
    try:
        header = jws.extract_compact(token.strip().encode()).headers()
    except (JoseError, ValueError):
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def compare(
    name: str, report: ChainReport, counted: int, head: str, head_now: str | None
) -> str | None:
    """What one chain's state says against a checkpoint (``head_now``: hash at ``counted``)."""
    if report.entries < counted:
        return f"{name} truncated: {report.entries} entries, the checkpoint counted {counted}"
    expected = head_now if counted > 0 else GENESIS
    if expected != head:
        return f"{name} recomputed: entry {counted} differs from the checkpoint"
    return None


# --- with the database ------------------------------------------------------------------


async def _disclosure_head(session: AsyncSession) -> tuple[int, str]:
    last = (
        await session.execute(
            select(Disclosure.id, Disclosure.hash).order_by(Disclosure.id.desc()).limit(1)
        )
    ).first()
    return (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)


async def make_checkpoint(
    db: Database,
    signer: CheckpointSigner,
    issuer: str,
    *,
    only_if_changed: bool = False,
    actor_client_id: str | None = None,
) -> Checkpoint | None:
    """Sign and store the chains' heads, and tell every active member, in one transaction.

    With ``only_if_changed`` (the schedule) nothing is made when neither chain grew since
    the last checkpoint apart from that checkpoint's own audit entry.
    """
    async with db.write() as session:
        # Lock order as in every service: outbox, then audit chain (no deadlock with them).
        await lock_outbox(session)
        await lock_chain(session)
        audit_count, audit_head = await chain_head(session)
        disclosure_count, disclosure_head = await _disclosure_head(session)
        if only_if_changed:
            last = await session.scalar(
                select(AuditCheckpoint).order_by(AuditCheckpoint.at.desc()).limit(1)
            )
            if (
                last is not None
                and last.disclosure_entries == disclosure_count
                and last.audit_entries + 1 == audit_count
            ):
                return None
        checkpoint_id = str(uuid.uuid4())
        at = utcnow()
        heads = {
            "audit": {"entries": audit_count, "head": audit_head},
            "disclosures": {"entries": disclosure_count, "head": disclosure_head},
        }
        token = sign(claims_of(checkpoint_id, at, issuer, heads), signer)
        session.add(
            AuditCheckpoint(
                id=checkpoint_id,
                at=at,
                audit_entries=audit_count,
                audit_head=audit_head,
                disclosure_entries=disclosure_count,
                disclosure_head=disclosure_head,
                kid=signer.kid,
                jws=token,
            )
        )
        members = await session.scalars(
            select(Organization.id).where(Organization.status == MembershipStatus.ACTIVE.value)
        )
        await emit(
            session,
            topic="ORGANIZATION",
            type=EVENT_TYPE,
            subject_id=checkpoint_id,
            actor_organization_id=None,
            audience=list(members),
            payload={"checkpoint": token, **heads},
            at=at,
        )
        await record_audit(
            session,
            actor_organization_id=None,
            actor_client_id=actor_client_id,
            action="audit.checkpoint",
            subject_type="AuditCheckpoint",
            subject_id=checkpoint_id,
            detail=heads,
            at=at,
        )
    return Checkpoint(
        checkpoint_id,
        at,
        issuer,
        audit_count,
        audit_head,
        disclosure_count,
        disclosure_head,
        signer.kid,
        token,
    )


async def latest_token(session: AsyncSession) -> str | None:
    """The newest stored checkpoint, as the signed JWS published to partners."""
    token: str | None = await session.scalar(
        select(AuditCheckpoint.jws).order_by(AuditCheckpoint.at.desc()).limit(1)
    )
    return token


@dataclass(frozen=True, slots=True)
class VerifyReport:
    audit: ChainReport
    disclosures: ChainReport
    checkpoint: Checkpoint | None
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


async def _hash_at(session: AsyncSession, table: type[AuditEntry | Disclosure], n: int) -> Any:
    if table is AuditEntry:
        return await session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == n))
    return await session.scalar(select(Disclosure.hash).where(Disclosure.id == n))


async def verify_record(session: AsyncSession, checkpoint: Checkpoint | None) -> VerifyReport:
    """Both chains on their own, then against the checkpoint when there is one."""
    audit = await verify_audit(session)
    disclosures = await verify_disclosures(session)
    problems = [
        f"{name} broken at entry {report.first_broken}: {report.problem}"
        for name, report in ((AUDIT, audit), (DISCLOSURES, disclosures))
        if not report.intact
    ]
    if checkpoint is not None:
        for name, report, table, counted, head in (
            (AUDIT, audit, AuditEntry, checkpoint.audit_entries, checkpoint.audit_head),
            (
                DISCLOSURES,
                disclosures,
                Disclosure,
                checkpoint.disclosure_entries,
                checkpoint.disclosure_head,
            ),
        ):
            head_now = await _hash_at(session, table, counted) if counted > 0 else GENESIS
            found = compare(name, report, counted, head, head_now)
            if found is not None:
                problems.append(found)
    return VerifyReport(audit, disclosures, checkpoint, tuple(problems))
