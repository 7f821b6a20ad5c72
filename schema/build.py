"""The hub's GraphQL schema: a federation-2 subgraph with limits and error codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.federation import Schema
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from schema.cases import CaseMutations, CaseQueries
from schema.context import PerOperationLoaders
from schema.errors import ErrorCodes, expected
from schema.events import EventQueries, Subscription
from schema.executor import FlatMemoryExecutor
from schema.observed import ObservedOperations, Recorder
from schema.organizations import OrganizationMutations, OrganizationQueries
from schema.referrals import ReferralMutations, ReferralQueries
from schema.repatriation import RepatriationMutations, RepatriationQueries
from schema.webhooks import WebhookMutations, WebhookQueries


class _ParserCache(ParserCache):
    """strawberry's parser cache, but a syntax error (or too many tokens) is left to the
    parse strawberry runs inside the operation, where ErrorCodes gives it its code.
    Raised from this hook, the error would escape the operation and reach the client bare."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            pass
        yield


@strawberry.type
class Query(
    OrganizationQueries,
    CaseQueries,
    ReferralQueries,
    RepatriationQueries,
    EventQueries,
    WebhookQueries,
):
    pass


@strawberry.type
class Mutation(
    OrganizationMutations,
    CaseMutations,
    ReferralMutations,
    RepatriationMutations,
    WebhookMutations,
):
    pass


class _Schema(Schema):
    """strawberry logs every error with its message, and validation messages quote the
    refused input, which may be survivor data. Refusals stay out of the log; bugs do not."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if not expected(error):
                StrawberryLogger.error(error, execution_context)


def build_schema(
    *,
    introspection: bool,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 2000,
    recorder: Recorder | None = None,
) -> Schema:
    # Factories, not instances: each operation gets fresh extensions; the parse and
    # validation caches are shared at module level by strawberry itself.
    extensions: list[Any] = [
        # First in, last out: it sees the codes ErrorCodes gives.
        lambda: ObservedOperations(recorder),
        ErrorCodes,
        PerOperationLoaders,
        lambda: _ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: QueryDepthLimiter(max_depth=max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FlatMemoryExecutor,
        federation_version="2.9",
    )
