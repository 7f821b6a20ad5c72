"""Checking access tokens on the resource side, with PyJWT and the published keys only.

Nothing here touches the private keys: the verifier reads the same JWKS document that
/.well-known/jwks.json serves, so an external identity provider could replace the
built-in one by swapping the key source.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from sqlalchemy import Select, bindparam, select

from gateway.oauth.models import RevokedToken
from gateway.oauth.verified import VerifiedTokens
from gateway.settings import Settings
from orgs.models import ApiClient, Organization
from orgs.principal import Principal
from orgs.rules import SCOPE_CEILING, MembershipStatus, OrganizationKind
from store.engine import Database
from store.generation import data_generation
from store.reads import RequestReads, reads_of

log = logging.getLogger(__name__)

ALGORITHMS = ["ES256"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
_UNKNOWN_KID_COOLDOWN = 5.0
# Distinct live tokens whose signature check is remembered (gateway/oauth/verified.py).
VERIFIED_TOKENS = 2048

JwksSource = Callable[[bool], Awaitable[dict[str, Any]]]


class TokenRejected(Exception):
    """The token may not be used. The reason goes to the log, never to an HTTP caller.

    ``renewable`` says whether a new token would fix it (expired, revoked, forged, issued
    before a suspension): a websocket client is then told to fetch one and reconnect; a
    disabled client or an organisation that is not active is told to stop.
    """

    def __init__(self, reason: str, *, renewable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.renewable = renewable


@dataclass(frozen=True, slots=True)
class ClientStanding:
    organization_id: str
    organization_kind: str
    organization_status: str
    client_enabled: bool
    client_scopes: frozenset[str]
    # Tokens issued at or before this second (a suspension, a client disable) never work
    # again, even after reinstatement: seconds since the epoch, or None.
    tokens_valid_after: int | None = None

    @property
    def in_good_standing(self) -> bool:
        return self.client_enabled and self.organization_status == MembershipStatus.ACTIVE

    @property
    def refusal(self) -> str | None:
        """Why the client may not act now, in words it may be told; None when it may."""
        if not self.client_enabled:
            return "client disabled"
        if self.organization_status != MembershipStatus.ACTIVE:
            return "organisation not active"
        return None

    def issued_too_early(self, issued_at: int) -> bool:
        return self.tokens_valid_after is not None and issued_at <= self.tokens_valid_after


def cutoff_second(*moments: datetime | None) -> int | None:
    """The latest of the given cut-offs as a whole second (a token's ``iat`` precision)."""
    seconds = [int(moment.timestamp()) for moment in moments if moment is not None]
    return max(seconds) if seconds else None


class Missing:
    """Nothing cached (distinct from a cached "no such client")."""


MISSING = Missing()


def _standing_statement(with_revocation: bool) -> Select[Any]:
    """The client's standing in one statement; with revocation, whether the token (``jti``)
    was revoked too (an EXISTS column), so a request's token check is one statement."""
    columns: list[Any] = [
        ApiClient.organization_id,
        Organization.kind,
        Organization.status,
        ApiClient.enabled,
        ApiClient.scopes,
        Organization.tokens_valid_after,
        ApiClient.tokens_valid_after,
    ]
    if with_revocation:
        # The data generation read by the same statement (store/generation.py): the answer
        # cache's validity (gateway/answers.py). Last but one: ``revoked`` stays last.
        columns.append(data_generation().label("generation"))
        columns.append(_REVOKED.label("revoked"))
    return (
        select(*columns)
        .join(Organization, Organization.id == ApiClient.organization_id)
        .where(ApiClient.client_id == bindparam("client_id"))
    )


# Built once: only the parameters change from one request to the next.
_REVOKED = select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti")).exists()
_IS_REVOKED = select(_REVOKED)
_IS_REVOKED_AT = select(_REVOKED, data_generation())  # in a request: with the generation
_STANDING = _standing_statement(False)
_STANDING_AND_REVOKED = _standing_statement(True)


def _standing_of(row: Sequence[Any]) -> ClientStanding:
    return ClientStanding(
        row[0],
        row[1],
        row[2],
        bool(row[3]),
        frozenset(row[4].split()),
        cutoff_second(row[5], row[6]),
    )


class StandingCache:
    """Membership status and client state, cached for a few seconds at most."""

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._entries: dict[str, tuple[float, ClientStanding | None]] = {}
        self._pending: dict[str, asyncio.Future[ClientStanding | None]] = {}

    async def get(self, client_id: str) -> ClientStanding | None:
        now = time.monotonic()
        hit = self._entries.get(client_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        # One lookup per client at a time: a thousand subscribers of one partner asking
        # together after a cache expiry cost one query, not a thousand.
        pending = self._pending.get(client_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[ClientStanding | None] = asyncio.get_running_loop().create_future()
        self._pending[client_id] = future
        try:
            standing = await self._load(client_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it twice
            raise
        finally:
            self._pending.pop(client_id, None)
        future.set_result(standing)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[client_id] = (time.monotonic() + self._ttl, standing)
        return standing

    def fresh(self, client_id: str) -> ClientStanding | Missing | None:
        """The cached standing while it is fresh, else ``MISSING`` (None: no such client)."""
        hit = self._entries.get(client_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return MISSING

    def keep(self, client_id: str, standing: ClientStanding | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[client_id] = (time.monotonic() + self._ttl, standing)

    async def _load(self, client_id: str) -> ClientStanding | None:
        async with self._db.read() as session:
            row = (await session.execute(_STANDING, {"client_id": client_id})).first()
        return None if row is None else _standing_of(row)

    def forget(self, client_id: str | None = None, organization_id: str | None = None) -> None:
        """Drop cached standing: of one client, of every client of one organisation, or all."""
        if client_id is not None:
            self._entries.pop(client_id, None)
        elif organization_id is not None:
            for key, (_, standing) in list(self._entries.items()):
                if standing is not None and standing.organization_id == organization_id:
                    self._entries.pop(key, None)
        else:
            self._entries.clear()


class TokenVerifier:
    def __init__(
        self, settings: Settings, db: Database, jwks_source: JwksSource, standing: StandingCache
    ) -> None:
        self._settings = settings
        self._db = db
        self._jwks_source = jwks_source
        self._standing = standing
        self._keys: dict[str, jwt.PyJWK] = {}
        self._parsed_from: dict[str, Any] | None = None
        self._last_forced = float("-inf")
        self._reloading: asyncio.Future[dict[str, Any]] | None = None
        self.unknown_kid_reloads = 0  # forced key-set reloads for unknown kids (tests)
        self._revocation_checks: dict[str, asyncio.Future[bool]] = {}
        self.verified = VerifiedTokens(VERIFIED_TOKENS)

    @property
    def db(self) -> Database:
        return self._db

    def _parse(self, jwks: dict[str, Any]) -> None:
        """Parse the key set only when it changed: building the keys is most of a decode.

        The keyring hands out a new document whenever it reloads, so identity catches the
        common case; equality catches a source that rebuilds an unchanged document.
        """
        if jwks is self._parsed_from or jwks == self._parsed_from:
            return
        self._keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id}
        self._parsed_from = jwks

    async def _key(self, kid: str) -> jwt.PyJWK:
        self._parse(await self._jwks_source(False))
        key = self._keys.get(kid)
        if key is None:
            await self._reload_for_unknown_kid()
            key = self._keys.get(kid)
        if key is None:
            raise TokenRejected("unknown signing key")
        return key

    async def _reload_for_unknown_kid(self) -> None:
        """Reload the key set for a kid it lacks: at most once per cooldown, and shared.

        A kid may be new (a rotation in another process) or made up. Every token that
        meets an unknown kid while a reload is under way waits for that one reload; after
        it, tokens with a kid still unknown are refused without touching the database
        until the cooldown has passed, so a storm of forged kids costs one query.
        """
        flight = self._reloading
        if flight is None:
            if time.monotonic() - self._last_forced <= _UNKNOWN_KID_COOLDOWN:
                return
            self._last_forced = time.monotonic()
            self.unknown_kid_reloads += 1
            flight = asyncio.ensure_future(self._jwks_source(True))
            self._reloading = flight
            flight.add_done_callback(self._reload_done)
        self._parse(await asyncio.shield(flight))

    def _reload_done(self, flight: asyncio.Future[dict[str, Any]]) -> None:
        if self._reloading is flight:
            self._reloading = None
        if not flight.cancelled():
            flight.exception()  # retrieved: the waiters re-raise it

    async def decode(self, token: str) -> dict[str, Any]:
        """Signature, algorithm, type and registered claims; no database state.

        A token that passed these checks before is not checked again while it lives and its
        key is still published (``VerifiedTokens``): nothing here depends on anything else.
        """
        self._parse(await self._jwks_source(False))
        remembered = self.verified.get(token, self._keys)
        if remembered is not None:
            return remembered
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected("malformed token") from exc
        if header.get("typ") != "at+jwt":
            raise TokenRejected("not an access token (typ)")
        if header.get("alg") not in ALGORITHMS:
            raise TokenRejected("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenRejected("no key id")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"invalid token: {type(exc).__name__}") from exc
        for name in ("org", "client_id", "scope"):
            if not isinstance(claims.get(name), str):
                raise TokenRejected(f"missing claim {name}")
        if isinstance(claims["exp"], int | float):
            self.verified.keep(token, kid, key, claims)
        return claims

    async def is_revoked(self, jti: str, reads: RequestReads | None = None) -> bool:
        """Whether the token was revoked.

        In a request's read transaction the check is one more statement on a connection the
        request already holds. Outside one (sockets), concurrent checks of one token share one
        query: many sockets opened with one token (a partner's subscriber pool reconnecting)
        would otherwise each take a pooled connection at the same moment.
        """
        if reads is not None:
            async with reads.session() as session:
                # On the session's connection: the same statement and transaction without
                # the ORM's per-statement set-up (it loads no objects).
                connection = await session.connection()
                row = (await connection.execute(_IS_REVOKED_AT, {"jti": jti})).one()
                reads.generation = row[1]
                return bool(row[0])
        flight = self._revocation_checks.get(jti)
        if flight is None:
            flight = asyncio.ensure_future(self._load_revoked(jti))
            self._revocation_checks[jti] = flight
            flight.add_done_callback(lambda done: self._revocation_done(jti, done))
        return await asyncio.shield(flight)

    def _revocation_done(self, jti: str, flight: asyncio.Future[bool]) -> None:
        if self._revocation_checks.get(jti) is flight:
            del self._revocation_checks[jti]
        if not flight.cancelled():
            flight.exception()  # retrieved: the waiters re-raise it

    async def _load_revoked(self, jti: str) -> bool:
        async with self._db.read() as session:
            found = await session.scalar(_IS_REVOKED, {"jti": jti})
        return bool(found)

    async def _revoked_and_standing(
        self, client_id: str, jti: str, reads: RequestReads | None
    ) -> tuple[bool, ClientStanding | None]:
        """Revocation always read; standing from the cache while fresh, else read in the
        same statement. One statement either way, in the request's read transaction."""
        cached = self._standing.fresh(client_id)
        if not isinstance(cached, Missing):
            return await self.is_revoked(jti, reads), cached
        if reads is None:
            # Outside a request (a socket's connection_init or subscribe): the standing per
            # client and the revocation per token are each one shared lookup, so a storm of
            # sockets opening at once takes a handful of pooled connections, not one each.
            standing = await self._standing.get(client_id)
            return await self.is_revoked(jti), standing
        async with reads_of(self._db, reads).session() as session:
            connection = await session.connection()
            row = (
                await connection.execute(
                    _STANDING_AND_REVOKED, {"client_id": client_id, "jti": jti}
                )
            ).first()
        if row is None:
            self._standing.keep(client_id, None)
            return await self.is_revoked(jti, reads), None
        standing = _standing_of(row)
        self._standing.keep(client_id, standing)
        if reads is not None:
            reads.generation = row[-2]
        return bool(row[-1]), standing

    async def still_in_good_standing(self, principal: Principal) -> bool:
        """Re-checked at every delivery of a live subscription, from the standing cache.

        Revocation is not looked up per delivery: a revoked token's TOKEN_REVOKED event
        reaches every process's pump, which cuts its subscriptions off at once.
        """
        if principal.client_id is None:
            return False
        standing = await self._standing.get(principal.client_id)
        return standing is not None and standing.in_good_standing

    async def verify(
        self, token: str, request_id: str | None = None, reads: RequestReads | None = None
    ) -> Principal:
        """A principal for a usable token, or ``TokenRejected``. With ``reads``, the check
        runs in the request's read transaction."""
        claims = await self.decode(token)
        revoked, standing = await self._revoked_and_standing(
            claims["client_id"], claims["jti"], reads
        )
        if revoked:
            raise TokenRejected("token revoked")
        if standing is None:
            raise TokenRejected("unknown client")
        if standing.organization_id != claims["org"]:
            raise TokenRejected("organisation mismatch")
        refusal = standing.refusal
        if refusal is not None:
            raise TokenRejected(refusal, renewable=False)
        if standing.issued_too_early(int(claims["iat"])):
            raise TokenRejected("issued before a suspension or a client disable")
        # A client whose grant was narrowed since loses those scopes on live tokens too.
        ceiling = SCOPE_CEILING[OrganizationKind(standing.organization_kind)]
        scopes = frozenset(claims["scope"].split()) & standing.client_scopes & ceiling
        return Principal(
            organization_id=standing.organization_id,
            client_id=claims["client_id"],
            scopes=scopes,
            organization_kind=standing.organization_kind,
            token_id=claims["jti"],
            request_id=request_id,
            expires_at=int(claims["exp"]),
        )
