"""Settings: development works out of the box, production refuses to start on defaults."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    Column,
    Dialect,
    Integer,
    MetaData,
    Table,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from gateway.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_PUBLIC_URL,
    DEVELOPMENT_SECRET_KEY,
    Environment,
    Settings,
    SettingsError,
    load_settings,
)
from store.types import UTCDateTime


def random_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def production(**overrides: str) -> dict[str, str]:
    env = {
        "HUB_ENV": "production",
        "HUB_PUBLIC_URL": "https://hub.example.org",
        "HUB_SECRET_KEY": random_key(),
        "HUB_DATABASE_URL": "postgresql+asyncpg://hub:pw@db.internal:5432/hub",
        # Keys that seal survivor data at rest (read by hubs that store cases).
        "HUB_DATA_KEYS": f"k1:{random_key()}",
    }
    env.update(overrides)
    return env


def test_an_empty_environment_gives_a_development_hub() -> None:
    settings = load_settings({})
    assert settings.env is Environment.DEVELOPMENT
    assert not settings.is_production
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.public_url == DEFAULT_PUBLIC_URL
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY
    assert len(settings.secret_key_bytes) == 32
    assert settings.allowed_origins == ()
    assert settings.access_token_ttl == 900
    assert settings.max_body_bytes == 262_144
    assert (settings.max_query_depth, settings.max_aliases, settings.max_tokens) == (12, 30, 2000)
    assert settings.token_url == "http://127.0.0.1:8000/oauth/token"
    assert settings.audience == settings.graphql_url == "http://127.0.0.1:8000/graphql"
    assert settings.issuer == settings.public_url
    assert settings == Settings()


def test_the_secret_key_is_never_shown_in_a_repr() -> None:
    key = random_key()
    assert key not in repr(load_settings({"HUB_SECRET_KEY": key}))


def test_production_with_nothing_set_names_every_missing_setting() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"HUB_ENV": "production"})
    message = str(refused.value)
    assert "production" in message
    for name in ("HUB_DATABASE_URL", "HUB_PUBLIC_URL", "HUB_SECRET_KEY"):
        assert name in message


@pytest.mark.parametrize("missing", ["HUB_DATABASE_URL", "HUB_PUBLIC_URL", "HUB_SECRET_KEY"])
def test_production_names_the_one_missing_setting(missing: str) -> None:
    env = production()
    del env[missing]
    with pytest.raises(SettingsError) as refused:
        load_settings(env)
    message = str(refused.value)
    assert missing in message
    for other in {"HUB_DATABASE_URL", "HUB_PUBLIC_URL", "HUB_SECRET_KEY"} - {missing}:
        assert other not in message


def test_production_refuses_a_plain_http_public_url() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(production(HUB_PUBLIC_URL="http://hub.example.org"))
    assert "https" in str(refused.value)


def test_production_refuses_the_published_development_key() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(production(HUB_SECRET_KEY=DEVELOPMENT_SECRET_KEY))
    assert "HUB_SECRET_KEY" in str(refused.value)


def test_production_fully_configured_starts() -> None:
    env = production(
        HUB_PUBLIC_URL="https://hub.example.org/",
        HUB_ALLOWED_ORIGINS="https://a.example.org, https://b.example.org,",
        HUB_ENV=" Production ",
    )
    settings = load_settings(env)
    assert settings.env is Environment.PRODUCTION
    assert settings.is_production
    assert settings.public_url == "https://hub.example.org"
    assert settings.audience == "https://hub.example.org/graphql"
    assert settings.database_url == env["HUB_DATABASE_URL"]
    assert settings.secret_key_bytes == base64.urlsafe_b64decode(env["HUB_SECRET_KEY"])
    assert settings.allowed_origins == ("https://a.example.org", "https://b.example.org")


@pytest.mark.parametrize("value", ["staging", "prod", "dev", "1"])
def test_an_unknown_environment_is_refused(value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"HUB_ENV": value})
    assert "HUB_ENV" in str(refused.value)


@pytest.mark.parametrize(
    "key",
    [
        base64.urlsafe_b64encode(b"x" * 16).decode(),
        base64.urlsafe_b64encode(b"x" * 31).decode(),
        base64.urlsafe_b64encode(b"x" * 33).decode(),
        base64.urlsafe_b64encode(b"x" * 64).decode(),
        "not base64 at all!",
        "abc",
    ],
)
def test_a_secret_key_that_is_not_32_bytes_is_refused(key: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"HUB_SECRET_KEY": key})
    assert "HUB_SECRET_KEY" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_ACCESS_TOKEN_TTL", "fifteen minutes"),
        ("HUB_ACCESS_TOKEN_TTL", "9.5"),
        ("HUB_MAX_BODY_BYTES", "256k"),
        ("HUB_KEY_PUBLISH_LEAD", "soon"),
    ],
)
def test_a_setting_that_is_not_an_integer_is_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value})
    assert name in str(refused.value)
    assert "integer" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("HUB_ACCESS_TOKEN_TTL", "59"), ("HUB_ACCESS_TOKEN_TTL", "3601"), ("HUB_MAX_BODY_BYTES", "0")],
)
def test_an_integer_out_of_range_is_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value})
    assert name in str(refused.value)


def test_integers_within_range_are_read() -> None:
    settings = load_settings({"HUB_ACCESS_TOKEN_TTL": "300", "HUB_MAX_BODY_BYTES": "1024"})
    assert (settings.access_token_ttl, settings.max_body_bytes) == (300, 1024)


def test_a_public_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(SettingsError):
        load_settings({"HUB_PUBLIC_URL": "hub.example.org"})


# --- timestamps ----------------------------------------------------------------------------

SQLITE: Dialect = sqlite.dialect()
POSTGRES: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]

stamps = Table(
    "stamps", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime())
)


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRES], ids=["sqlite", "postgresql"])
def test_a_naive_datetime_is_refused(dialect: Dialect) -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1, 12, 0), dialect)


def test_a_naive_datetime_never_reaches_the_database() -> None:
    engine = create_engine("sqlite://")
    stamps.metadata.create_all(engine)
    with engine.begin() as conn:
        with pytest.raises(StatementError) as refused:
            conn.execute(insert(stamps).values(id=1, at=datetime(2026, 1, 1, 12, 0)))
        assert isinstance(refused.value.orig, ValueError)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stamps)).scalar() == 0
    engine.dispose()


def test_an_aware_datetime_is_stored_as_utc_and_read_back_aware() -> None:
    phnom_penh = timezone(timedelta(hours=7))
    at = datetime(2026, 1, 1, 19, 0, tzinfo=phnom_penh)
    assert UTCDateTime().process_bind_param(at, SQLITE) == datetime(2026, 1, 1, 12, 0)
    on_postgres = UTCDateTime().process_bind_param(at, POSTGRES)
    assert on_postgres == at and on_postgres is not None
    assert on_postgres.utcoffset() == timedelta(0)

    engine = create_engine("sqlite://")
    stamps.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(stamps).values(id=1, at=at))
    with engine.connect() as conn:
        read = conn.execute(select(stamps.c.at)).scalar_one()
    engine.dispose()
    assert read == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert read.tzinfo is UTC
