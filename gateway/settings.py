"""Settings, read once from the environment at start-up into one typed object."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/referral-hub.db"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
# Encrypts the token-signing keys at rest. Published here, so only fit for development.
DEVELOPMENT_SECRET_KEY = base64.urlsafe_b64encode(b"referral-hub-development-key-32b").decode()
# Seals survivor data at rest. Published here, so only fit for development and tests.
DEVELOPMENT_DATA_KEYS = (
    "dev1:" + base64.urlsafe_b64encode(b"referral-hub-dev-survivor-data-k").decode()
)


class SettingsError(Exception):
    """The environment does not describe a hub that may start."""


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = DEFAULT_PUBLIC_URL
    secret_key: str = field(default=DEVELOPMENT_SECRET_KEY, repr=False)
    data_keys: str = field(default=DEVELOPMENT_DATA_KEYS, repr=False)
    allowed_origins: tuple[str, ...] = ()
    access_token_ttl: int = 900
    key_publish_lead: int = 300
    status_cache_seconds: float = 2.0
    # Answers to repeated read-only queries served again while the data is unchanged, for
    # at most this long (gateway/answers.py); 0 turns the answer cache off.
    answer_cache_seconds: float = 2.0
    max_body_bytes: int = 262_144
    # The largest document accepted on POST /documents (the whole request body there).
    document_max_bytes: int = 5_242_880
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    log_level: str = "INFO"
    # Deadlines: a pass every `scheduler_interval` seconds (0 turns the scheduler off).
    scheduler_interval: float = 30.0
    # Signed audit checkpoints: at most one per `checkpoint_interval` seconds, made by the
    # scheduler when either chain grew (0: only on demand, `referral-hub audit checkpoint`).
    checkpoint_interval: int = 3600
    # Live events: the slow poll behind LISTEN/NOTIFY and commit hooks, and how many
    # undelivered events a subscriber may have queued before it is cut off.
    # Moving-window rate limits (the `limits` library's notation).
    rate_limit_graphql: str = "600/minute"
    rate_limit_oauth: str = "60/minute"
    event_poll_interval: float = 2.0
    subscriber_queue: int = 1000
    # Seconds between heartbeats (and session re-checks) on a console page's live stream.
    console_live_heartbeat: float = 15.0
    remind_before: int = 3600
    expire_after: int = 86_400
    # The longest a database transaction may stay open before the watchdog ends it.
    transaction_limit: float = 60.0
    # Queries over GET (GraphQL-over-HTTP); off, so every operation is a POST.
    graphql_get: bool = False
    # Operations: addresses (CIDRs) that may scrape /metrics without a token, and the log
    # format ("text", or "json": one object per line).
    metrics_allow: tuple[str, ...] = ()
    log_format: str = "text"
    # permessage-deflate on websockets: off, as it costs ~40 KiB per open socket and CPU per
    # message for event frames of a few hundred bytes.
    ws_compression: bool = False
    # Days a closed case keeps its survivor data before the scheduler erases it (0: kept).
    retention_days: int = 0
    # The fewest survivors a published statistics cell may count (cases/statistics_rules.py).
    statistics_k: int = 5

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def issuer(self) -> str:
        return self.public_url

    @property
    def audience(self) -> str:
        """The resource the hub's access tokens are for: its GraphQL endpoint."""
        return f"{self.public_url}/graphql"

    @property
    def token_url(self) -> str:
        return f"{self.public_url}/oauth/token"

    @property
    def graphql_url(self) -> str:
        return f"{self.public_url}/graphql"

    @property
    def secret_key_bytes(self) -> bytes:
        return base64.urlsafe_b64decode(self.secret_key.encode())

    @property
    def data_key_ring(self) -> tuple[str, dict[str, bytes]]:
        """The current data key id and every data key, from HUB_DATA_KEYS."""
        return parse_data_keys(self.data_keys)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def parse_data_keys(raw: str) -> tuple[str, dict[str, bytes]]:
    """``kid:base64url-key`` entries separated by commas; the first one seals new values."""
    keys: dict[str, bytes] = {}
    current = ""
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        kid, _, encoded = entry.partition(":")
        try:
            key = base64.urlsafe_b64decode(encoded.encode())
        except (binascii.Error, ValueError) as exc:
            raise SettingsError("HUB_DATA_KEYS: each key must be base64url") from exc
        if not kid or "." in kid or len(kid) > 40 or len(key) != 32 or kid in keys:
            raise SettingsError("HUB_DATA_KEYS: entries are unique 'id:key' with 32-byte keys")
        keys[kid] = key
        current = current or kid
    if not keys:
        raise SettingsError("HUB_DATA_KEYS holds no key")
    return current, keys


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse

    value = env.get(name, default).strip()
    try:
        parse(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must read like '600/minute'") from exc
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false")


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated CIDRs (or single addresses), each checked now, not at first use."""
    found = []
    for part in (p.strip() for p in env.get(name, "").split(",")):
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise SettingsError(f"{name}: {part!r} is not an address or CIDR") from exc
    return tuple(found)


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, allowed[0]).strip().lower() or allowed[0]
    if value not in allowed:
        raise SettingsError(f"{name} must be one of: {', '.join(allowed)}")
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build the settings from an environment mapping (``os.environ`` in production)."""
    try:
        environment = Environment(env.get("HUB_ENV", "development").strip().lower())
    except ValueError as exc:
        raise SettingsError("HUB_ENV must be 'development' or 'production'") from exc
    public_url = env.get("HUB_PUBLIC_URL", DEFAULT_PUBLIC_URL).strip().rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise SettingsError("HUB_PUBLIC_URL must be an http(s) URL")
    secret_key = env.get("HUB_SECRET_KEY", DEVELOPMENT_SECRET_KEY).strip()
    try:
        if len(base64.urlsafe_b64decode(secret_key.encode())) != 32:
            raise SettingsError("HUB_SECRET_KEY must be 32 bytes, base64url-encoded")
    except (binascii.Error, ValueError) as exc:
        raise SettingsError("HUB_SECRET_KEY must be 32 bytes, base64url-encoded") from exc
    data_keys = env.get("HUB_DATA_KEYS", DEVELOPMENT_DATA_KEYS).strip()
    parse_data_keys(data_keys)
    origins = tuple(o.strip() for o in env.get("HUB_ALLOWED_ORIGINS", "").split(",") if o.strip())
    settings = Settings(
        env=environment,
        database_url=env.get("HUB_DATABASE_URL", DEFAULT_DATABASE_URL).strip(),
        public_url=public_url,
        secret_key=secret_key,
        data_keys=data_keys,
        allowed_origins=origins,
        access_token_ttl=_int(env, "HUB_ACCESS_TOKEN_TTL", 900, 60, 3600),
        key_publish_lead=_int(env, "HUB_KEY_PUBLISH_LEAD", 300, 0, 86_400),
        max_body_bytes=_int(env, "HUB_MAX_BODY_BYTES", 262_144, 1_024, 10_485_760),
        document_max_bytes=_int(env, "HUB_DOCUMENT_MAX_BYTES", 5_242_880, 1_024, 26_214_400),
        log_level=env.get("HUB_LOG_LEVEL", "INFO").upper(),
        scheduler_interval=float(_int(env, "HUB_SCHEDULER_INTERVAL", 30, 0, 3600)),
        checkpoint_interval=_int(env, "HUB_CHECKPOINT_INTERVAL", 3600, 0, 604_800),
        subscriber_queue=_int(env, "HUB_SUBSCRIBER_QUEUE", 1000, 10, 100_000),
        event_poll_interval=float(_int(env, "HUB_EVENT_POLL_INTERVAL", 2, 1, 60)),
        rate_limit_graphql=_rate(env, "HUB_RATE_LIMIT_GRAPHQL", "600/minute"),
        rate_limit_oauth=_rate(env, "HUB_RATE_LIMIT_TOKEN", "60/minute"),
        remind_before=_int(env, "HUB_REMIND_BEFORE", 3600, 0, 604_800),
        expire_after=_int(env, "HUB_EXPIRE_AFTER", 86_400, 0, 2_592_000),
        transaction_limit=float(_int(env, "HUB_TRANSACTION_LIMIT", 60, 1, 3600)),
        graphql_get=_flag(env, "HUB_GRAPHQL_GET"),
        metrics_allow=_networks(env, "HUB_METRICS_ALLOW"),
        log_format=_choice(env, "HUB_LOG_FORMAT", ("text", "json")),
        ws_compression=_flag(env, "HUB_WS_COMPRESSION"),
        retention_days=_int(env, "HUB_RETENTION_DAYS", 0, 0, 36_500),
        statistics_k=_int(env, "HUB_STATISTICS_K", 5, 2, 1_000),
        answer_cache_seconds=_seconds(env, "HUB_ANSWER_CACHE_SECONDS", 2.0, 0.0, 60.0),
    )
    if settings.is_production:
        _refuse_development_defaults(env, settings)
    return settings


def _refuse_development_defaults(env: Mapping[str, str], settings: Settings) -> None:
    problems = []
    if "HUB_DATABASE_URL" not in env:
        problems.append("HUB_DATABASE_URL is not set")
    if "HUB_PUBLIC_URL" not in env:
        problems.append("HUB_PUBLIC_URL is not set")
    elif not settings.public_url.startswith("https://"):
        problems.append("HUB_PUBLIC_URL must use https")
    if "HUB_SECRET_KEY" not in env or settings.secret_key == DEVELOPMENT_SECRET_KEY:
        problems.append("HUB_SECRET_KEY is not set or is the development key")
    if "HUB_DATA_KEYS" not in env or DEVELOPMENT_DATA_KEYS.split(":")[1] in settings.data_keys:
        problems.append("HUB_DATA_KEYS is not set or holds the development key")
    if problems:
        raise SettingsError("refusing to start in production: " + "; ".join(problems))
