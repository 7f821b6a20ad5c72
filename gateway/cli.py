"""The ``referral-hub`` command line: run the hub, a demo network, and its maintenance.

Every command names the database it uses on stderr; a command that needs an existing,
migrated database says in one line when there is none, and exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from gateway.dblock import DatabaseInUse, holding
from gateway.dbstate import DatabaseProblem, first_line, require_current, shown, sqlite_path
from gateway.settings import Settings, SettingsError, load_settings
from store.key_store import key_store_path


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    env = dict(os.environ)
    if "HUB_PUBLIC_URL" not in env and host is not None and port is not None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        env["HUB_PUBLIC_URL"] = f"http://{shown}:{port}"
    return load_settings(env)


def _using(settings: Settings) -> str:
    """Say which database this command works on (stderr: stdout may be JSON)."""
    print(f"referral-hub: database {shown(settings.database_url)}", file=sys.stderr, flush=True)
    return settings.database_url


def _configure_logging(settings: Settings) -> None:
    from gateway.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


async def _upgrade(settings: Settings) -> None:
    from store.migrate import upgrade

    await upgrade(settings.database_url)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.direct_frames import DirectFrameProtocol
    from gateway.serving import HubServer

    _configure_logging(settings)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=settings.is_production,
        ws=DirectFrameProtocol,
        ws_per_message_deflate=settings.ws_compression,
        # Heartbeats: protocol pings find dead sockets, whatever the GraphQL sub-protocol.
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        # The hub's own handler (text or JSON) formats uvicorn's lines too.
        log_config=None,
    )
    HubServer(config).run()


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args.host, args.port)
    url = _using(settings)
    with holding(url, exclusive=False):
        if sqlite_path(url) is not None:
            asyncio.run(_upgrade(settings))
        else:
            asyncio.run(require_current(url))
        _serve(settings, args.host, args.port)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    _using(settings)
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
    _using(settings)
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


async def _demo(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    from cases.demo_desk import seed_desk_history
    from cases.demo_group import seed_demo_group
    from cases.demo_journey import seed_demo_journey
    from cases.demo_statistics import seed_demo_statistics
    from gateway.app import data_cipher
    from gateway.console.demo import invite_demo_staff
    from gateway.oauth.keys import ensure_signing_key
    from orgs.demo import seed_demo_network
    from store.engine import Database

    await _upgrade(settings)
    db = Database(settings.database_url)
    try:
        await ensure_signing_key(db, settings)
        members = await seed_demo_network(db)
        # One survivor's journey through the network, so every step shows with data.
        await seed_demo_journey(db, data_cipher(settings), members)
        # Three fishermen of one boat, linked as a group and brought home together.
        await seed_demo_group(db, data_cipher(settings), members)
        # Late requests, a failing webhook, an idle client: the coordinator's desk has work.
        await seed_desk_history(db, data_cipher(settings), members)
        # Consented history, so the coordinator's statistics show real (and suppressed) cells.
        await seed_demo_statistics(db, data_cipher(settings), members)
        staff = await invite_demo_staff(db, members, settings.public_url)
    finally:
        await db.dispose()
    sign_ins = [
        {"member": s.member, "role": s.role.value, "email": s.email, "invite_url": s.invite_url}
        for s in staff
    ]
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
    ], sign_ins


async def _registration_token(settings: Settings, organization_id: str, hours: int) -> Any:
    from orgs.principal import operator
    from orgs.registration import issue_registration_token
    from store.engine import Database

    db = Database(settings.database_url)
    try:
        issued = await issue_registration_token(db, operator(), organization_id, hours)
    finally:
        await db.dispose()
    return {
        "token": issued.token,
        "token_id": issued.row.id,
        "organization_id": issued.row.organization_id,
        "expires_at": issued.row.expires_at.isoformat(),
        "registration_url": f"{settings.public_url}/oauth/register",
    }


def cmd_registration_token(args: argparse.Namespace) -> int:
    """The operator's way to onboard a member: the member registers its own client."""
    from store.errors import HubError

    settings = _settings()
    asyncio.run(require_current(_using(settings)))
    try:
        result = asyncio.run(_registration_token(settings, args.organization_id, args.hours))
    except HubError as exc:
        print(f"referral-hub: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


async def _staff_invite(settings: Settings, organization_id: str, role: str, email: str) -> Any:
    from gateway.console.demo import invite_url
    from orgs.staff import Inviter, issue_invite
    from orgs.staff_rules import StaffRole
    from store.engine import Database

    db = Database(settings.database_url)
    try:
        issued = await issue_invite(db, Inviter(), organization_id, StaffRole(role), email)
    finally:
        await db.dispose()
    return {
        "organization_id": issued.organization_id,
        "role": issued.role.value,
        "expires_at": issued.expires_at.isoformat(),
        "invite_url": invite_url(settings.public_url, issued.token),
    }


def cmd_staff_invite(args: argparse.Namespace) -> int:
    """The operator's way to invite a member's first console admin (or anyone)."""
    from store.errors import HubError

    settings = _settings()
    asyncio.run(require_current(_using(settings)))
    try:
        result = asyncio.run(_staff_invite(settings, args.organization_id, args.role, args.email))
    except HubError as exc:
        print(f"referral-hub: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def _holds_only_the_demo(path: Path) -> bool:
    """Whether an existing file is a demo database the demo may replace: exactly the demo
    network's organisations. Anything else may be someone's work, and is never deleted."""
    from orgs.demo import DEMO_NETWORK

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM organizations")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return names == {name for _, name, _, _, _ in DEMO_NETWORK}


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args.host, args.port)
    if settings.is_production:
        print("refusing to run the demo in production", file=sys.stderr)
        return 2
    # The demo uses the same database as every other command, so that `audit verify`,
    # `backup` and the rest find it afterwards; it only ever replaces a demo database.
    url = _using(settings)
    path = sqlite_path(url)
    if path is None:
        raise DatabaseProblem(
            f"the demo runs on a SQLite file, not {shown(url)}: unset HUB_DATABASE_URL "
            "or point it at a file"
        )
    with holding(url, exclusive=True):
        if path.exists() and not _holds_only_the_demo(path):
            raise DatabaseProblem(
                f"{path} holds a database that is not a demo network; the demo will not "
                "replace it: move it away or set HUB_DATABASE_URL to another file"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
            # and the demo's key store beside it (store/key_store.py)
            Path(f"{key_store_path(str(path))}{suffix}").unlink(missing_ok=True)
        _serve_demo(settings, args)
    return 0


def _serve_demo(settings: Settings, args: argparse.Namespace) -> None:
    members, sign_ins = asyncio.run(_demo(settings))
    if args.json:
        print(
            json.dumps(
                {
                    "token_url": settings.token_url,
                    "graphql_url": settings.graphql_url,
                    "members": members,
                    "staff_sign_ins": sign_ins,
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
        print(f"\nStaff console ({settings.public_url}/console): open a link, set a password")
        print("and an authenticator code, then sign in. Each link works once, for 72 hours.")
        for s in sign_ins:
            print(f"  {s['member']:22} {s['role']:12} {s['email']}\n    {s['invite_url']}")
        print(
            "\nGet a token:\n  curl -s -u CLIENT_ID:CLIENT_SECRET "
            f"-d grant_type=client_credentials {settings.token_url}\n",
            flush=True,
        )
    _serve(settings, args.host, args.port)


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
    asyncio.run(require_current(_using(settings)))
    result = asyncio.run(_rotate(settings))
    print(json.dumps(result, indent=2))
    return 0


async def _rotate_data(settings: Settings) -> int:
    from cases.blind_reindex import reindex
    from cases.service import reseal_data
    from gateway.app import data_cipher
    from store.engine import Database

    db = Database(settings.database_url)
    try:
        resealed = await reseal_data(db, data_cipher(settings))
        await reindex(db, data_cipher(settings))  # the blind index follows the key ring
        return resealed
    finally:
        await db.dispose()


def cmd_keys_rotate_data(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(require_current(_using(settings)))
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

    settings = _settings()
    asyncio.run(require_current(_using(settings)))
    token = Path(args.checkpoint).read_text() if args.checkpoint else None
    try:
        report = asyncio.run(_verify(settings, token))
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
    settings = _settings()
    asyncio.run(require_current(_using(settings)))
    made = asyncio.run(_checkpoint(settings))
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


def cmd_backup(args: argparse.Namespace) -> int:
    from gateway.backup import backup_postgres, backup_sqlite, require_pg_dump

    settings = _settings()
    url = _using(settings)
    target = Path(args.path)
    source = sqlite_path(url)
    if source is None:
        require_pg_dump(url, target)
    asyncio.run(require_current(url))
    if source is not None:
        snapshot = backup_sqlite(source, target)
    else:
        snapshot = backup_postgres(url, target)
    print(json.dumps({"backup": str(snapshot.path), "bytes": snapshot.size}, indent=2))
    print(
        "referral-hub: keep HUB_SECRET_KEY and HUB_DATA_KEYS with this backup, apart from it:"
        " without HUB_DATA_KEYS its survivor data cannot be opened",
        file=sys.stderr,
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from gateway.backup import check_staged, discard, stage, swap

    settings = _settings()
    url = _using(settings)
    target = sqlite_path(url)
    if target is None:
        raise DatabaseProblem(
            "restore puts back SQLite backups; restore PostgreSQL with pg_restore into an "
            "empty database, then run `referral-hub audit verify` (see docs/deploy.md)"
        )
    snapshot = Path(args.path)
    if not snapshot.is_file():
        raise DatabaseProblem(f"no backup at {snapshot}")
    with holding(url, exclusive=True):
        incoming = stage(snapshot, target)
        try:
            asyncio.run(check_staged(incoming, snapshot))
            kept = swap(incoming, target)
        finally:
            discard(incoming)
    print(
        json.dumps(
            {"restored": str(target), "previous": str(kept) if kept else None},
            indent=2,
        )
    )
    return 0


def _version() -> str:
    try:
        return version("referral-hub")
    except PackageNotFoundError:  # running from a tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="referral-hub",
        description="Referral Hub: referrals, repatriation and consented case data over "
        "GraphQL. Settings come from HUB_* environment variables (see README.md).",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"referral-hub {_version()}",
        help="print the version and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(group: Any, name: str, text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=text, description=text)
        return sub

    def host_and_port(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
        )
        sub.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")

    serve = add(commands, "serve", "run the hub (creates or upgrades a SQLite database first)")
    host_and_port(serve)
    serve.set_defaults(func=cmd_serve)

    db = add(commands, "db", "database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    add(db_commands, "upgrade", "create the database or apply new migrations").set_defaults(
        func=cmd_db_upgrade
    )

    init = add(commands, "init", "create the first coordinator and its client (once)")
    init.add_argument("--json", action="store_true", help="print the result as JSON")
    init.add_argument(
        "--name",
        default="Network Coordination Secretariat",
        help="the coordinator organisation's name",
    )
    init.add_argument("--country", default="KH", help="its ISO 3166 country code (default: KH)")
    init.set_defaults(func=cmd_init)

    registration = add(
        commands,
        "registration-token",
        "a single-use initial access token with which a member registers its own client",
    )
    registration.add_argument(
        "organization_id", metavar="ORGANIZATION_ID", help="the member organisation's id"
    )
    registration.add_argument(
        "--hours", type=int, default=24, help="hours until the token expires (default: 24)"
    )
    registration.set_defaults(func=cmd_registration_token)

    staff_invite = add(
        commands,
        "staff-invite",
        "single-use console invitation (72 hours) for one person in a member organisation",
    )
    staff_invite.add_argument(
        "organization_id", metavar="ORGANIZATION_ID", help="the member organisation's id"
    )
    staff_invite.add_argument(
        "--role",
        required=True,
        choices=["ORG_ADMIN", "CASEWORKER", "OFFICER", "VIEWER", "COORDINATOR"],
        help="the person's role",
    )
    staff_invite.add_argument("--email", required=True, help="the person's email (sign-in name)")
    staff_invite.set_defaults(func=cmd_staff_invite)

    demo = add(
        commands,
        "demo",
        "replace the database with a fresh demo network, print its credentials, serve it",
    )
    host_and_port(demo)
    demo.add_argument(
        "--json",
        action="store_true",
        help="print the credentials as one JSON document on stdout (logs go to stderr)",
    )
    demo.set_defaults(func=cmd_demo)

    keys = add(commands, "keys", "token-signing and data keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    add(
        key_commands, "rotate", "publish a new signing key; it signs after the publish lead"
    ).set_defaults(func=cmd_keys_rotate)
    add(
        key_commands,
        "rotate-data",
        "re-seal survivor data under the first key of HUB_DATA_KEYS (safe to re-run)",
    ).set_defaults(func=cmd_keys_rotate_data)

    audit = add(commands, "audit", "audit trail and disclosure log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = add(
        audit_commands,
        "verify",
        "check the audit trail's and the disclosure log's hash chains, and both against "
        "the newest stored checkpoint; exit 1 on the first problem",
    )
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="compare with this checkpoint (a JWS a partner kept) instead of the stored one",
    )
    verify.set_defaults(func=cmd_audit_verify)
    checkpoint = add(
        audit_commands,
        "checkpoint",
        "sign the chains' entry counts and head hashes now, store and publish them; prints the JWS",
    )
    checkpoint.add_argument("--json", action="store_true", help="print counts, heads and JWS")
    checkpoint.set_defaults(func=cmd_audit_checkpoint)

    backup = add(
        commands,
        "backup",
        "write a consistent snapshot of the database to PATH while the hub runs "
        "(pg_dump for PostgreSQL)",
    )
    backup.add_argument("path", metavar="PATH", help="the backup file to create (must not exist)")
    backup.set_defaults(func=cmd_backup)

    restore = add(
        commands,
        "restore",
        "check a SQLite backup (migrations, disclosure log) and put it in place of the "
        "database; refused while a hub uses it",
    )
    restore.add_argument("path", metavar="PATH", help="the backup file to restore")
    restore.set_defaults(func=cmd_restore)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except SettingsError as exc:
        print(f"referral-hub: {exc}", file=sys.stderr)
        return 2
    except (DatabaseProblem, DatabaseInUse) as exc:
        print(f"referral-hub: {exc}", file=sys.stderr)
        return 1
    except DBAPIError as exc:
        # Statement parameters are hidden by the engines; the first line names the failure.
        print(f"referral-hub: database error: {first_line(exc)}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
