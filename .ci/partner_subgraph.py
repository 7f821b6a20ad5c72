"""A partner's own subgraph for the gateway check (.ci/gateway.sh): it extends the hub's
`Organization` with a field the partner keeps, `partnerDesk`, and checks that the
gateway forwarded the caller's bearer token to it too.

Usage: python .ci/partner_subgraph.py PORT
"""

from __future__ import annotations

import sys

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.federation import Schema

seen_tokens: list[str] = []


@strawberry.federation.type(keys=["id"])
class Organization:
    id: strawberry.ID

    @strawberry.field(description="The partner's coordination desk for this organisation.")
    def partner_desk(self) -> str:
        return f"desk-{str(self.id)[:8]}"

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Organization:
        return cls(id=id)


@strawberry.type
class Query:
    @strawberry.field(description="Whether the partner's system is up.")
    def partner_status(self) -> str:
        return "ok"


schema = Schema(query=Query, types=[Organization], federation_version="2.9")


class PartnerGraphQL(GraphQL[None, None]):
    async def get_context(self, request: Request, response: object) -> dict[str, object]:  # type: ignore[override]
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            seen_tokens.append(auth[7:])
        return {"request": request, "response": response}


async def tokens(request: Request) -> JSONResponse:
    """How many requests reached the partner with a bearer token (the check reads it)."""
    return JSONResponse({"with_token": len(seen_tokens)})


view = PartnerGraphQL(schema)
app = Starlette(routes=[Route("/graphql", view, methods=["GET", "POST"]), Route("/seen", tokens)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
