"""The anchors the inbox benchmark runs beside the hub: plain Strawberry and bare Starlette.

Both hold the hub's own 50-row answer in memory, so the three answer the same query with the
same bytes of data; neither has tokens, a database, access rules or consent.
"""

from __future__ import annotations

import asyncio
import enum
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.enum
class ReferralBox(enum.Enum):
    INBOX = "INBOX"
    OUTBOX = "OUTBOX"


@strawberry.type
class Org:
    id: strawberry.ID
    name: str


@strawberry.type
class CaseRef:
    id: strawberry.ID
    status: str


@strawberry.type
class Referral:
    id: strawberry.ID
    status: str
    urgency: str
    sender: Org
    receiver: Org
    case: CaseRef | None


@strawberry.type
class Edge:
    node: Referral


@strawberry.type
class Connection:
    edges: list[Edge]


def plain_schema(page: dict[str, Any]) -> strawberry.Schema:
    """A Strawberry schema of the inbox's shape answering from ``page`` (the hub's answer)."""
    nodes = [e["node"] for e in page["referrals"]["edges"]]
    edges = [
        Edge(
            node=Referral(
                id=n["id"],
                status=n["status"],
                urgency=n["urgency"],
                sender=Org(**n["sender"]),
                receiver=Org(**n["receiver"]),
                case=CaseRef(**n["case"]) if n["case"] else None,
            )
        )
        for n in nodes
    ]

    @strawberry.type
    class Query:
        @strawberry.field
        def referrals(self, box: ReferralBox, first: int = 20) -> Connection:
            return Connection(edges=edges[:first])

    return strawberry.Schema(query=Query)


def bare_app(page: dict[str, Any]) -> Starlette:
    async def graphql(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse({"data": page})

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


@asynccontextmanager
async def serve_anchors(page: dict[str, Any]) -> AsyncIterator[dict[str, str]]:
    """Serve both anchors on loopback: their URLs by name."""
    schema = plain_schema(page)
    apps = {"strawberry": GraphQL[None, None](schema), "starlette": bare_app(page)}
    servers, tasks, urls, socks = [], [], {}, []
    for name, app in apps.items():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        socks.append(sock)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
        urls[name] = f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    try:
        while not all(s.started for s in servers):  # noqa: ASYNC110 - uvicorn's own flag
            await asyncio.sleep(0.01)
        yield urls
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)
        for sock in socks:
            sock.close()
