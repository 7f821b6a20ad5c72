"""Audit checkpoints at the hub's edges: made on schedule or on demand, served to partners.

The rules and the storage are in ``consent.checkpoint``; this module brings the hub's
signing key, its published keys and HTTP to them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from consent.checkpoint import (
    Checkpoint,
    VerifyReport,
    latest_token,
    make_checkpoint,
    read,
    verify_record,
)
from consent.models import AuditCheckpoint
from gateway.oauth.keys import KeyRing
from gateway.oauth.models import SigningKey
from gateway.oauth.verify import TokenRejected, TokenVerifier
from gateway.settings import Settings
from store.engine import Database

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/jose"
LATEST_PATH = "/audit/checkpoints/latest"


async def checkpoint_now(
    db: Database,
    settings: Settings,
    keyring: KeyRing | None = None,
    *,
    only_if_changed: bool = False,
    actor_client_id: str | None = None,
) -> Checkpoint | None:
    """One checkpoint signed with the hub's current signing key."""
    ring = keyring or KeyRing(db, settings)
    signer = await ring.signing_key()
    return await make_checkpoint(
        db,
        signer,
        settings.issuer,
        only_if_changed=only_if_changed,
        actor_client_id=actor_client_id,
    )


async def known_keys(db: Database) -> dict[str, Any]:
    """Every public key the hub still holds (published, pending or retiring), as a JWKS."""
    async with db.read() as session:
        rows = await session.scalars(select(SigningKey.public_jwk))
        return {"keys": list(rows)}


async def verify_against(db: Database, checkpoint_token: str | None) -> VerifyReport:
    """Check both chains, against the given checkpoint or else the newest stored one.

    Raises ``consent.checkpoint.CheckpointError`` when the checkpoint's signature fails.
    """
    jwks = await known_keys(db)
    async with db.read() as session:
        token = checkpoint_token if checkpoint_token is not None else await latest_token(session)
        checkpoint = read(token, jwks) if token is not None else None
        return await verify_record(session, checkpoint)


class CheckpointSchedule:
    """The scheduler's part: a checkpoint when the last one is older than the interval."""

    def __init__(self, db: Database, settings: Settings, keyring: KeyRing | None = None) -> None:
        self.db = db
        self.settings = settings
        self.keyring = keyring
        self.interval = timedelta(seconds=settings.checkpoint_interval)

    async def run_once(self, now: datetime) -> Checkpoint | None:
        if self.interval <= timedelta(0):
            return None
        async with self.db.read() as session:
            last = await session.scalar(
                select(AuditCheckpoint.at).order_by(AuditCheckpoint.at.desc()).limit(1)
            )
        if last is not None and now - last < self.interval:
            return None
        made = await checkpoint_now(
            self.db,
            self.settings,
            self.keyring,
            only_if_changed=True,
            actor_client_id="scheduler",
        )
        if made is not None:
            log.info("audit checkpoint %s made", made.id)
        return made


def latest_route(db: Database, verifier: TokenVerifier) -> Route:
    """``GET /audit/checkpoints/latest``: the newest signed checkpoint, for any member token.

    The body is the compact JWS itself; check it with ``/.well-known/jwks.json``.
    """

    async def latest(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise TokenRejected("no bearer token")
            await verifier.verify(token.strip(), getattr(request.state, "request_id", None))
        except TokenRejected:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        async with db.read() as session:
            found = await latest_token(session)
        if found is None:
            return JSONResponse({"error": "no checkpoint yet"}, status_code=404)
        return Response(found, media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})

    return Route(LATEST_PATH, latest, methods=["GET"])
