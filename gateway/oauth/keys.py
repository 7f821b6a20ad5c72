"""The hub's token-signing keys: created, rotated, published and sealed at rest.

Rotation publishes the new key first and signs with it only after ``key_publish_lead``
seconds, so resource servers that cache the JWKS learn it before they meet it. The old
key stays published until every token it signed has expired.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey
from sqlalchemy import delete, or_, select

from gateway.oauth.models import SigningKey
from gateway.settings import Settings
from notifications.outbox import emit
from store.audit import record_audit
from store.engine import Database
from store.types import utcnow

ALGORITHM = "ES256"
_CLOCK_SKEW = timedelta(seconds=60)


def _seal(secret: bytes, kid: str, private_jwk: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(secret).encrypt(
        nonce, orjson.dumps(private_jwk), f"signing_keys:{kid}".encode()
    )
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(secret: bytes, kid: str, sealed: str) -> dict[str, Any]:
    raw = base64.urlsafe_b64decode(sealed.encode())
    plain = AESGCM(secret).decrypt(raw[:12], raw[12:], f"signing_keys:{kid}".encode())
    value: dict[str, Any] = orjson.loads(plain)
    return value


def _new_key(settings: Settings, signs_from: datetime) -> SigningKey:
    kid = uuid.uuid4().hex
    key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
    public = key.as_dict(private=False)
    return SigningKey(
        kid=kid,
        alg=ALGORITHM,
        public_jwk=public,
        private_jwk_sealed=_seal(settings.secret_key_bytes, kid, key.as_dict(private=True)),
        created_at=utcnow(),
        signs_from=signs_from,
        published_until=None,
    )


async def ensure_signing_key(db: Database, settings: Settings) -> None:
    """Create the first key when the hub has none."""
    async with db.write() as session:
        existing = await session.scalar(select(SigningKey.kid).limit(1))
        if existing is None:
            session.add(_new_key(settings, utcnow()))


async def rotate_signing_key(db: Database, settings: Settings) -> SigningKey:
    """Publish a new key now; it starts signing after the publish lead."""
    now = utcnow()
    async with db.write() as session:
        new = _new_key(settings, now + timedelta(seconds=settings.key_publish_lead))
        retire_at = new.signs_from + timedelta(seconds=settings.access_token_ttl) + _CLOCK_SKEW
        current = await session.scalars(
            select(SigningKey).where(SigningKey.published_until.is_(None))
        )
        for key in current:
            key.published_until = retire_at
        # Keys whose tokens have all expired are deleted, private half included.
        await session.execute(delete(SigningKey).where(SigningKey.published_until < now))
        session.add(new)
        await session.flush()
        detail = {"kid": new.kid, "signsFrom": new.signs_from.isoformat()}
        await emit(
            session,
            topic="ORGANIZATION",
            type="SIGNING_KEY_ROTATED",
            subject_id=new.kid,
            actor_organization_id=None,
            audience=[],
            payload=detail,
        )
        await record_audit(
            session,
            actor_organization_id=None,
            actor_client_id="cli",
            action="signing_key.rotate",
            subject_type="SigningKey",
            subject_id=new.kid,
            detail=detail,
        )
    return new


@dataclass(frozen=True, slots=True)
class ActiveKey:
    kid: str
    private_jwk: dict[str, Any]


class KeyRing:
    """Published keys and the current signing key, reloaded from the database now and then."""

    def __init__(self, db: Database, settings: Settings, refresh_seconds: float = 10.0) -> None:
        self._db = db
        self._settings = settings
        self._refresh_seconds = refresh_seconds
        self._loaded_at = float("-inf")
        self._jwks: dict[str, Any] = {"keys": []}
        self._signing: ActiveKey | None = None
        self._next_switch: datetime | None = None
        # One load at a time: a storm of connection_inits arriving when the set is due
        # (or when a token names an unknown kid) costs one query, not one per socket.
        self._loading = asyncio.Lock()
        self._load_started = float("-inf")
        self._failure: Exception | None = None
        self.loads = 0  # how many times the set was read from the database (metrics, tests)

    def _due(self, force: bool, asked_at: float) -> bool:
        """Whether a load is still needed for a caller that asked at ``asked_at``.

        A forced refresh is satisfied by any load that began after it was asked for: a
        load already under way may have read the table before the caller's change.
        """
        if force:
            return self._load_started < asked_at
        due = time.monotonic() - self._loaded_at >= self._refresh_seconds
        switching = self._next_switch is not None and utcnow() >= self._next_switch
        return due or switching

    def mark_stale(self) -> None:
        """Make the next use reload the set (as when the refresh interval has passed)."""
        self._loaded_at = float("-inf")

    async def refresh(self, force: bool = False) -> None:
        asked_at = time.monotonic()
        if not self._due(force, asked_at):
            return
        async with self._loading:
            # Whoever waited here while another caller loaded finds the set fresh, or
            # shares that load's failure instead of queueing one more attempt behind it.
            if self._load_started >= asked_at and self._failure is not None:
                raise self._failure
            if not self._due(force, asked_at):
                return
            self._load_started = time.monotonic()
            self._failure = None
            try:
                await self._load()
            except Exception as error:
                self._failure = error
                raise

    async def _load(self) -> None:
        """Read the published keys; no other database work is awaited meanwhile."""
        now_mono = time.monotonic()
        now = utcnow()
        self.loads += 1
        async with self._db.read() as session:
            rows = list(
                await session.scalars(
                    select(SigningKey)
                    .where(
                        or_(SigningKey.published_until.is_(None), SigningKey.published_until > now)
                    )
                    .order_by(SigningKey.signs_from)
                )
            )
        self._jwks = {"keys": [row.public_jwk for row in rows]}
        live = [row for row in rows if row.signs_from <= now and row.private_jwk_sealed]
        pending = [row.signs_from for row in rows if row.signs_from > now]
        self._next_switch = min(pending) if pending else None
        if live:
            newest = live[-1]
            assert newest.private_jwk_sealed is not None
            self._signing = ActiveKey(
                newest.kid,
                _unseal(self._settings.secret_key_bytes, newest.kid, newest.private_jwk_sealed),
            )
        else:
            self._signing = None
        self._loaded_at = now_mono

    async def jwks(self) -> dict[str, Any]:
        """The public JWKS document, as published at /.well-known/jwks.json."""
        await self.refresh()
        return self._jwks

    async def signing_key(self) -> ActiveKey:
        await self.refresh()
        if self._signing is None:
            await self.refresh(force=True)
        if self._signing is None:
            raise RuntimeError("no signing key: run `referral-hub keys rotate`")
        return self._signing
