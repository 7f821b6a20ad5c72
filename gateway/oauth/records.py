"""What the authorization server reads and writes in the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.oauth.models import RevokedToken, UsedAssertion
from gateway.oauth.server import HubClient, TokenState
from gateway.oauth.verify import cutoff_second
from notifications.outbox import emit
from orgs.models import ApiClient, Organization
from store.audit import record_audit
from store.engine import Database
from store.types import utcnow


async def load_clients(db: Database, client_ids: Iterable[str]) -> dict[str, HubClient]:
    ids = [cid for cid in set(client_ids) if cid and len(cid) <= 64]
    if not ids:
        return {}
    async with db.read() as session:
        rows = await session.execute(
            select(
                ApiClient, Organization.kind, Organization.status, Organization.tokens_valid_after
            )
            .join(Organization, Organization.id == ApiClient.organization_id)
            .where(ApiClient.client_id.in_(ids))
        )
        return {
            row[0].client_id: HubClient(
                row[0], row[1], row[2], cutoff_second(row[3], row[0].tokens_valid_after)
            )
            for row in rows
        }


async def used_assertions(db: Database, client_id: str, jti: str) -> set[tuple[str, str]]:
    async with db.read() as session:
        found = await session.scalar(
            select(UsedAssertion.jti).where(
                UsedAssertion.client_id == client_id, UsedAssertion.jti == jti[:200]
            )
        )
    return {(client_id, jti)} if found is not None else set()


async def remember_assertion(db: Database, client_id: str, jti: str, exp: int) -> bool:
    """Record an accepted assertion; False when another request used it first."""
    now = utcnow()
    try:
        async with db.write() as session:
            await session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
            session.add(
                UsedAssertion(
                    client_id=client_id,
                    jti=jti,
                    expires_at=datetime.fromtimestamp(exp, UTC),
                )
            )
    except IntegrityError:
        return False
    return True


async def token_state(db: Database, claims: dict[str, object]) -> TokenState:
    jti = str(claims["jti"])
    client_id = str(claims["client_id"])
    async with db.read() as session:
        revoked = await session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti))
        standing = (
            await session.execute(
                select(
                    ApiClient.enabled,
                    Organization.status,
                    Organization.id,
                    ApiClient.tokens_valid_after,
                    Organization.tokens_valid_after,
                )
                .join(Organization, Organization.id == ApiClient.organization_id)
                .where(ApiClient.client_id == client_id)
            )
        ).first()
    cutoff = cutoff_second(standing[3], standing[4]) if standing is not None else None
    usable = (
        standing is not None
        and bool(standing[0])
        and standing[1] == "ACTIVE"
        and standing[2] == claims.get("org")
        # A token from before a suspension or disable stays dead after reinstatement.
        and (cutoff is None or int(str(claims["iat"])) > cutoff)
    )
    return TokenState(claims=dict(claims), revoked=revoked is not None, holder_usable=usable)


async def revoke(db: Database, state: TokenState) -> None:
    """Revoke an access token everywhere, from now until it would have expired."""
    claims = state.claims
    jti = str(claims["jti"])
    client_id = str(claims["client_id"])
    async with db.write() as session:
        if await session.get(RevokedToken, jti) is not None:
            return
        now = utcnow()
        await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
        session.add(
            RevokedToken(
                jti=jti,
                client_id=client_id,
                expires_at=datetime.fromtimestamp(int(str(claims["exp"])), UTC),
                revoked_at=now,
            )
        )
        org = str(claims.get("org", ""))
        await emit(
            session,
            topic="ORGANIZATION",
            type="TOKEN_REVOKED",
            subject_id=client_id,
            actor_organization_id=org,
            audience=[org],
            payload={"clientId": client_id, "jti": jti},
        )
        await record_audit(
            session,
            actor_organization_id=org,
            actor_client_id=client_id,
            action="token.revoke",
            subject_type="AccessToken",
            subject_id=jti,
            detail={"clientId": client_id},
        )


class TokenUse:
    """Notes when each client last got a token, for the coordinator's list of unused
    clients. At most once an hour per client and process: a token storm costs no writes."""

    def __init__(self, every: float = 3600.0) -> None:
        self.every = every
        self._noted: dict[str, float] = {}

    async def note(self, db: Database, client_id: str) -> None:
        now = utcnow()
        last = self._noted.get(client_id)
        if last is not None and now.timestamp() - last < self.every:
            return
        self._noted[client_id] = now.timestamp()
        before = datetime.fromtimestamp(now.timestamp() - self.every, UTC)
        async with db.write() as session:
            await session.execute(
                update(ApiClient)
                .where(
                    ApiClient.client_id == client_id,
                    or_(ApiClient.last_token_at.is_(None), ApiClient.last_token_at < before),
                )
                .values(last_token_at=now)
                .execution_options(synchronize_session=False)
            )
