"""Prometheus metrics at /metrics, for the operator and nobody else.

A scrape needs a token with the ``metrics:read`` scope (only a coordinator's client may
hold it) or must come from an address in ``HUB_METRICS_ALLOW``. Labels are operation names
(root fields of the schema), documented error codes, statuses and endpoint names: never an
id, a client-chosen name or anything a survivor said.

Each hub app has its own registry, so several hubs in one process (tests) do not collide.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.oauth.verify import TokenRejected, TokenVerifier
from notifications.gauges import delivery_gauges
from notifications.pump import EventPump
from notifications.webhooks import DELIVERED, FAILED, PENDING
from schema.observed import Observed
from store.engine import Database

log = logging.getLogger(__name__)

METRICS_SCOPE = "metrics:read"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CHALLENGE = {"WWW-Authenticate": f'Bearer scope="{METRICS_SCOPE}"'}


class HubMetrics:
    def __init__(self, db: Database, pump: EventPump) -> None:
        self.db = db
        self.pump = pump
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "hub_graphql_requests",
            "GraphQL operations finished, by root fields and outcome (OK or error code).",
            ["operation", "operation_type", "outcome"],
            registry=r,
        )
        # The children of each label set seen so far (see ``observe``).
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram | None]] = {}
        self.latency = Histogram(
            "hub_graphql_request_duration_seconds",
            "Time to answer a query or mutation, by root fields and outcome.",
            ["operation", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.subscriptions = Gauge(
            "hub_open_subscriptions", "Live subscriptions in this process.", registry=r
        )
        self.subscriptions.set_function(lambda: float(pump.subscriber_count))
        self.pump_lag = Gauge(
            "hub_event_pump_lag_events",
            "Events committed that this process's pump has not fanned out yet.",
            registry=r,
        )
        self.webhook_deliveries = Gauge(
            "hub_webhook_deliveries",
            "Webhook deliveries by status: PENDING is the queue, FAILED gave up.",
            ["status"],
            registry=r,
        )
        self.webhook_failed_attempts = Gauge(
            "hub_webhook_failed_attempts",
            "Webhook attempts answered with an error or a non-2xx status.",
            registry=r,
        )
        self.scheduler_runs = Counter(
            "hub_scheduler_runs",
            "Deadline and webhook passes of this process's scheduler, by outcome "
            "(done; skipped: another process holds the lease; failed).",
            ["outcome"],
            registry=r,
        )
        self.rate_limit_refusals = Counter(
            "hub_rate_limit_refusals",
            "Requests refused by a rate limit, by endpoint (graphql, token).",
            ["endpoint"],
            registry=r,
        )

    def observe(self, observed: Observed) -> None:
        labels = (observed.operation, observed.operation_type, observed.outcome)
        children = self._children.get(labels)
        if children is None:
            # ``labels()`` checks and locks on every call; the children of one label set
            # are the same objects every time, so they are looked up once per set (as many
            # as the registry itself holds: operation labels are bounded by the schema).
            latency = None
            if observed.operation_type in ("query", "mutation"):
                latency = self.latency.labels(observed.operation, observed.outcome)
            children = (self.requests.labels(*labels), latency)
            self._children[labels] = children
        requests, latency = children
        requests.inc()
        if latency is not None:
            latency.observe(observed.seconds)

    def scheduler_ran(self, outcome: str) -> None:
        self.scheduler_runs.labels(outcome).inc()

    def rate_limited(self, endpoint: str) -> None:
        self.rate_limit_refusals.labels(endpoint).inc()

    async def render(self) -> bytes:
        gauges = await delivery_gauges(self.db, self.pump)
        self.pump_lag.set(gauges.pump_lag_events)
        for status in (PENDING, DELIVERED, FAILED):
            self.webhook_deliveries.labels(status).set(gauges.deliveries.get(status, 0))
        self.webhook_failed_attempts.set(gauges.failed_attempts)
        return generate_latest(self.registry)


class MetricsEndpoint:
    """GET /metrics: from an allowed address, or with a ``metrics:read`` token."""

    def __init__(self, metrics: HubMetrics, verifier: TokenVerifier, allow: Sequence[str]):
        self.metrics = metrics
        self.verifier = verifier
        self.allow = [ipaddress.ip_network(n) for n in allow]

    def _allowed_address(self, request: Request) -> bool:
        host = request.client.host if request.client else None
        if host is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.allow)

    async def scrape(self, request: Request) -> Response:
        if not self._allowed_address(request):
            refusal = await self._refusal(request)
            if refusal is not None:
                return refusal
        body = await self.metrics.render()
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def _refusal(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return JSONResponse({"error": "invalid_token"}, 401, headers=_CHALLENGE)
        request_id = getattr(request.state, "request_id", None)
        try:
            principal = await self.verifier.verify(token.strip(), request_id)
        except TokenRejected as exc:
            log.info("metrics scrape refused: %s (request %s)", exc, request_id)
            return JSONResponse({"error": "invalid_token"}, 401, headers=_CHALLENGE)
        if not principal.has(METRICS_SCOPE):
            return JSONResponse(
                {"error": "insufficient_scope", "error_description": f"needs {METRICS_SCOPE}"},
                403,
                headers=_CHALLENGE,
            )
        return None
