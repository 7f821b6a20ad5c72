"""The ``referral-hub`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.settings import Settings, SettingsError, load_settings

DEMO_DATABASE = Path("var") / "demo.db"


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    env = dict(os.environ)
    if "HUB_PUBLIC_URL" not in env and host is not None and port is not None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        env["HUB_PUBLIC_URL"] = f"http://{shown}:{port}"
    return load_settings(env)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


async def _upgrade(settings: Settings) -> None:
    from store.migrate import upgrade

    await upgrade(settings.database_url)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from gateway.app import create_app

    _configure_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=settings.is_production,
        ws="websockets-sansio",
        # Heartbeats: protocol pings find dead sockets, whatever the GraphQL sub-protocol.
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args.host, args.port)
    if settings.database_url.startswith("sqlite"):
        asyncio.run(_upgrade(settings))
    _serve(settings, args.host, args.port)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(_upgrade(settings))
    print("database is up to date")
    return 0


async def _init(settings: Settings, name: str, country: str) -> dict[str, Any]:
    from orgs import service
    from orgs.models import Organization
    from orgs.principal import operator
    from orgs.rules import SCOPE_CEILING, MembershipAction, OrganizationKind
    from store.engine import Database

    await _upgrade(settings)
    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            existing = await session.scalar(
                select(Organization)
                .where(Organization.kind == OrganizationKind.COORDINATOR.value)
                .order_by(Organization.created_at)
                .limit(1)
            )
        out: dict[str, Any] = {
            "token_url": settings.token_url,
            "graphql_url": settings.graphql_url,
        }
        if existing is not None:
            clients = await service.list_clients(db, [existing.id])
            first = clients[existing.id][0].client_id if clients[existing.id] else None
            return {
                "created": False,
                "organization_id": existing.id,
                "client_id": first,
                **out,
            }
        actor = operator()
        org = await service.register_organization(
            db,
            actor,
            service.NewOrganization(name=name, kind=OrganizationKind.COORDINATOR, country=country),
        )
        await service.change_membership(
            db, actor, org.id, MembershipAction.ACTIVATE, "first coordinator, created by init"
        )
        issued = await service.create_client(
            db,
            actor,
            org.id,
            f"{name} console",
            sorted(SCOPE_CEILING[OrganizationKind.COORDINATOR]),
        )
        return {
            "created": True,
            "organization_id": org.id,
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
            **out,
        }
    finally:
        await db.dispose()


def cmd_init(args: argparse.Namespace) -> int:
    settings = _settings()
    result = asyncio.run(_init(settings, args.name, args.country))
    if args.json:
        print(json.dumps(result, indent=2))
    elif result["created"]:
        print(f"coordinator organisation: {result['organization_id']}")
        print(f"client_id:     {result['client_id']}")
        print(f"client_secret: {result['client_secret']}   (shown once: store it now)")
        print(f"token URL:     {result['token_url']}")
    else:
        print("already initialised; nothing changed")
        print(f"coordinator organisation: {result['organization_id']}")
    return 0


async def _demo(settings: Settings) -> list[dict[str, Any]]:
    from gateway.oauth.keys import ensure_signing_key
    from orgs.demo import seed_demo_network
    from store.engine import Database

    await _upgrade(settings)
    db = Database(settings.database_url)
    try:
        await ensure_signing_key(db, settings)
        members = await seed_demo_network(db)
    finally:
        await db.dispose()
    return [
        {
            "key": m.key,
            "name": m.name,
            "kind": m.kind.value,
            "organization_id": m.organization_id,
            "client_id": m.client_id,
            "client_secret": m.client_secret,
            "scopes": list(m.scopes),
        }
        for m in members.values()
    ]


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args.host, args.port)
    if settings.is_production:
        print("refusing to run the demo in production", file=sys.stderr)
        return 2
    # The demo never touches the configured database: it has a file of its own.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
    settings = settings.with_overrides(database_url=f"sqlite+aiosqlite:///./{DEMO_DATABASE}")
    members = asyncio.run(_demo(settings))
    if args.json:
        print(
            json.dumps(
                {
                    "token_url": settings.token_url,
                    "graphql_url": settings.graphql_url,
                    "members": members,
                },
                indent=2,
            ),
            flush=True,
        )
    else:
        print(f"Demo network ready. Token URL: {settings.token_url}")
        print(f"GraphQL: {settings.graphql_url}\n")
        print(f"{'member':22} {'kind':18} {'client_id':20} client_secret")
        for m in members:
            print(f"{m['key']:22} {m['kind']:18} {m['client_id']:20} {m['client_secret']}")
        print(
            "\nGet a token:\n  curl -s -u CLIENT_ID:CLIENT_SECRET "
            f"-d grant_type=client_credentials {settings.token_url}\n",
            flush=True,
        )
    _serve(settings, args.host, args.port)
    return 0


async def _rotate(settings: Settings) -> dict[str, Any]:
    from gateway.oauth.keys import rotate_signing_key
    from store.engine import Database

    db = Database(settings.database_url)
    try:
        key = await rotate_signing_key(db, settings)
    finally:
        await db.dispose()
    return {"kid": key.kid, "published_now": True, "signs_from": key.signs_from.isoformat()}


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    settings = _settings()
    result = asyncio.run(_rotate(settings))
    print(json.dumps(result, indent=2))
    return 0


async def _rotate_data(settings: Settings) -> int:
    from cases.service import reseal_data
    from gateway.app import data_cipher
    from store.engine import Database

    db = Database(settings.database_url)
    try:
        return await reseal_data(db, data_cipher(settings))
    finally:
        await db.dispose()


def cmd_keys_rotate_data(args: argparse.Namespace) -> int:
    settings = _settings()
    current, _ = settings.data_key_ring
    count = asyncio.run(_rotate_data(settings))
    print(json.dumps({"current_key": current, "resealed": count}, indent=2))
    return 0


async def _verify(settings: Settings, checkpoint_token: str | None) -> Any:
    from gateway.audit_checkpoints import verify_against
    from store.engine import Database

    db = Database(settings.database_url)
    try:
        return await verify_against(db, checkpoint_token)
    finally:
        await db.dispose()


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from consent.checkpoint import CheckpointError

    token = Path(args.checkpoint).read_text() if args.checkpoint else None
    try:
        report = asyncio.run(_verify(_settings(), token))
    except CheckpointError as exc:
        print(f"checkpoint refused: {exc}", file=sys.stderr)
        return 1
    # One line per sound chain on stdout; each problem on its own line on stderr.
    for name, chain in (("audit trail", report.audit), ("disclosure log", report.disclosures)):
        if not any(problem.startswith(name) for problem in report.problems):
            print(f"{name} intact: {chain.entries} entries")
    checkpoint = report.checkpoint
    if checkpoint is None:
        print("no checkpoint to compare with (make one: referral-hub audit checkpoint)")
    else:
        signature = (
            "signature verified"
            if checkpoint.verified
            else f"signature not checked: key {checkpoint.kid} is no longer held"
        )
        print(
            f"checkpoint {checkpoint.id} of {checkpoint.at.isoformat()}: "
            f"{checkpoint.audit_entries} audit, {checkpoint.disclosure_entries} disclosure "
            f"entries; {signature}"
        )
    for problem in report.problems:
        print(problem, file=sys.stderr)
    return 0 if report.intact else 1


async def _checkpoint(settings: Settings) -> Any:
    from gateway.audit_checkpoints import checkpoint_now
    from gateway.oauth.keys import ensure_signing_key
    from store.engine import Database

    db = Database(settings.database_url)
    try:
        # A hub that never served has no signing key yet; `serve` would make the same one.
        await ensure_signing_key(db, settings)
        return await checkpoint_now(db, settings, actor_client_id="cli")
    finally:
        await db.dispose()


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    made = asyncio.run(_checkpoint(_settings()))
    if args.json:
        print(
            json.dumps(
                {
                    "id": made.id,
                    "at": made.at.isoformat(),
                    "audit": {"entries": made.audit_entries, "head": made.audit_head},
                    "disclosures": {
                        "entries": made.disclosure_entries,
                        "head": made.disclosure_head,
                    },
                    "kid": made.kid,
                    "checkpoint": made.jws,
                },
                indent=2,
            )
        )
    else:
        print(made.jws)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referral-hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the hub")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    init = commands.add_parser("init", help="create the first coordinator and its client")
    init.add_argument("--json", action="store_true")
    init.add_argument("--name", default="Network Coordination Secretariat")
    init.add_argument("--country", default="KH")
    init.set_defaults(func=cmd_init)

    demo = commands.add_parser("demo", help="a fresh demo network, then serve it")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(func=cmd_demo)

    keys = commands.add_parser("keys", help="token-signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_commands.add_parser(
        "rotate", help="publish a new signing key; it signs after the publish lead"
    ).set_defaults(func=cmd_keys_rotate)
    key_commands.add_parser(
        "rotate-data",
        help="re-seal survivor data under the first key of HUB_DATA_KEYS (safe to re-run)",
    ).set_defaults(func=cmd_keys_rotate_data)

    audit = commands.add_parser("audit", help="audit trail and disclosure log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify",
        help="check the audit trail's and the disclosure log's hash chains, and both against "
        "the newest stored checkpoint; exit 1 on the first problem",
    )
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="compare with this checkpoint (a JWS a partner kept) instead of the stored one",
    )
    verify.set_defaults(func=cmd_audit_verify)
    checkpoint = audit_commands.add_parser(
        "checkpoint",
        help="sign the chains' entry counts and head hashes now, store and publish them; "
        "prints the JWS",
    )
    checkpoint.add_argument("--json", action="store_true", help="print counts, heads and JWS")
    checkpoint.set_defaults(func=cmd_audit_checkpoint)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except SettingsError as exc:
        print(f"referral-hub: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
