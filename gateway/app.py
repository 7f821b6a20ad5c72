"""The composition root: builds the hub's parts once and wires them into one ASGI app."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from cases.deadlines import DeadlinePolicy
from gateway.answers import AnswerCache
from gateway.audit_checkpoints import CheckpointSchedule, latest_route
from gateway.console import console_mount
from gateway.console.live import ending_streams_first
from gateway.documents import PATH as DOCUMENTS_PATH
from gateway.documents import DocumentEndpoints
from gateway.exports import ExportEndpoints
from gateway.graphql_view import HubGraphQL
from gateway.health import health_routes
from gateway.heap import settled_heap
from gateway.metrics import HubMetrics, MetricsEndpoint
from gateway.middleware import BearerAuth, BodyLimit, RequestId
from gateway.oauth.endpoints import OAuthEndpoints
from gateway.oauth.keys import KeyRing, ensure_signing_key
from gateway.oauth.verify import StandingCache, TokenVerifier
from gateway.outage import outage_handlers
from gateway.ratelimit import RateLimits, TokenEndpointLimit
from gateway.scheduler import Scheduler
from gateway.settings import Settings
from gateway.socket_guard import SocketMessageLimit
from gateway.statistics import StatisticsEndpoints
from gateway.unstarted import discarding_unstarted_work
from notifications.pump import EventPump
from notifications.stream import cut_off_on
from notifications.webhooks import WebhookDispatcher
from schema.build import build_schema
from store.engine import Database
from store.sealed import FieldCipher

log = logging.getLogger(__name__)


@dataclass
class Hub:
    """Everything one hub process holds, built once at start-up."""

    settings: Settings
    db: Database
    keyring: KeyRing
    standing: StandingCache
    verifier: TokenVerifier
    cipher: FieldCipher
    pump: EventPump


def data_cipher(settings: Settings) -> FieldCipher:
    current, keys = settings.data_key_ring
    return FieldCipher(keys, current)


def export_pseudonym_key(settings: Settings) -> bytes:
    """The key of export pseudonyms: derived from the hub's secret, never the secret itself."""
    return hmac.new(settings.secret_key_bytes, b"export-pseudonyms", hashlib.sha256).digest()


def build_hub(settings: Settings, db: Database | None = None) -> Hub:
    database = db or Database(settings.database_url, transaction_limit=settings.transaction_limit)
    keyring = KeyRing(database, settings)
    standing = StandingCache(database, settings.status_cache_seconds)

    async def published_keys(force: bool) -> dict[str, Any]:
        if force:
            await keyring.refresh(force=True)
        return await keyring.jwks()

    verifier = TokenVerifier(settings, database, published_keys, standing)
    pump = EventPump(
        database,
        poll_interval=settings.event_poll_interval,
        queue_capacity=settings.subscriber_queue,
    )
    pump.observers.append(cut_off_on(pump, standing))
    return Hub(settings, database, keyring, standing, verifier, data_cipher(settings), pump)


def create_app(settings: Settings, hub: Hub | None = None) -> Starlette:
    hub = hub or build_hub(settings)
    development = not settings.is_production
    metrics = HubMetrics(hub.db, hub.pump)
    schema = build_schema(
        introspection=development,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        recorder=metrics.observe,
    )
    limits = RateLimits(settings.rate_limit_graphql, settings.rate_limit_oauth)
    view = HubGraphQL(
        schema,
        hub.db,
        hub.verifier,
        hub.cipher,
        hub.pump,
        settings.is_production,
        limits=limits,
        graphql_ide="graphiql" if development else None,
        allow_queries_via_get=settings.graphql_get,
        keep_alive=True,
        keep_alive_interval=15,
        connection_init_wait_timeout=timedelta(seconds=10),
        max_subscriptions_per_connection=100,
        allowed_origins=settings.allowed_origins,
    )
    view.answers = AnswerCache(settings.answer_cache_seconds, recorder=metrics.observe)
    oauth = OAuthEndpoints(settings, hub.db, hub.keyring, hub.verifier, limits)
    limits.on_refusal = metrics.rate_limited
    scheduler = Scheduler(
        hub.db,
        hub.cipher,
        settings.scheduler_interval,
        DeadlinePolicy(
            remind_before=timedelta(seconds=settings.remind_before),
            expire_after=timedelta(seconds=settings.expire_after),
        ),
        WebhookDispatcher(hub.db, hub.cipher, public_only=settings.is_production),
        CheckpointSchedule(hub.db, settings, hub.keyring),
        retention=timedelta(days=settings.retention_days) if settings.retention_days else None,
    )
    scheduler.on_run = metrics.scheduler_ran

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ensure_signing_key(hub.db, settings)
        await hub.keyring.refresh(force=True)
        await hub.pump.start()
        hub.db.watchdog.start()
        scheduler.start()
        try:
            with settled_heap(), discarding_unstarted_work():
                yield
        finally:
            await scheduler.stop()
            await hub.pump.stop()
            await hub.db.watchdog.stop()
            await hub.db.dispose()

    app = Starlette(
        routes=[
            # Every method reaches the view, which answers 405 as a GraphQL response. First:
            # nearly every request is for it, and no other route matches its path.
            Route("/graphql", view),
            WebSocketRoute("/graphql", view),
            *oauth.routes(),
            *health_routes(hub.db, hub.pump),
            latest_route(hub.db, hub.verifier),
            Route(
                "/metrics",
                MetricsEndpoint(metrics, hub.verifier, settings.metrics_allow).scrape,
                methods=["GET"],
            ),
            *DocumentEndpoints(
                hub.db, hub.verifier, hub.cipher, settings.document_max_bytes, limits
            ).routes(),
            *StatisticsEndpoints(
                hub.db, hub.verifier, hub.cipher, settings.statistics_k, limits
            ).routes(),
            *ExportEndpoints(
                hub.db, hub.verifier, hub.cipher, export_pseudonym_key(settings), limits
            ).routes(),
            console_mount(
                hub.db,
                hub.cipher,
                settings.public_url,
                hub.pump,
                settings.console_live_heartbeat,
                production=settings.is_production,
                statistics_k=settings.statistics_k,
            ),
        ],
        middleware=[
            Middleware(RequestId),
            Middleware(
                BodyLimit,
                max_bytes=settings.max_body_bytes,
                per_path={DOCUMENTS_PATH: settings.document_max_bytes},
            ),
            Middleware(SocketMessageLimit, max_bytes=settings.max_body_bytes),
            Middleware(TokenEndpointLimit, limits=limits),
            Middleware(BearerAuth, verifier=hub.verifier, serve_ide=development, limits=limits),
        ],
        lifespan=lifespan,
        exception_handlers=outage_handlers(),
    )
    app.state.hub = hub
    app.state.metrics = metrics
    app.state.answers = view.answers
    app.state.going_away = ending_streams_first(
        hub.pump, view.going_away
    )  # called by gateway.serving.HubServer on shutdown
    return app
