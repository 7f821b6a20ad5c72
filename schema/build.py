"""The hub's GraphQL schema: a federation-2 subgraph with limits and error codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql.error import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.federation import Schema
from strawberry.federation.schema import FederationAny
from strawberry.types import ExecutionContext, Info

from schema.assessment import AssessmentMutations, AssessmentQueries
from schema.case_links import CaseLinkMutations, CaseLinkQueries
from schema.cases import CaseMutations, CaseQueries
from schema.context import PerOperationLoaders
from schema.custody import CustodyMutations, CustodyQueries
from schema.desk import DeskMutations, DeskQueries
from schema.disclosures import DisclosureWrites
from schema.entities import checked_representation, entity_keys
from schema.erasure import ErasureMutations
from schema.errors import ErrorCodes
from schema.events import EventQueries, Subscription
from schema.executor import FlatMemoryExecutor
from schema.extension_hooks import RememberedHooksRunner
from schema.family_consent import FamilyConsentQueries
from schema.funding import FundingMutations, FundingQueries
from schema.groups import GroupMutations, GroupQueries
from schema.interventions import InterventionMutations, InterventionQueries
from schema.justice import JusticeMutations, JusticeQueries
from schema.observed import ObservedOperations, Recorder
from schema.operation_choice import OneOperationChosen
from schema.organizations import OrganizationMutations, OrganizationQueries
from schema.referrals import ReferralMutations, ReferralQueries
from schema.reintegration import ReintegrationMutations, ReintegrationQueries
from schema.repatriation import RepatriationMutations, RepatriationQueries
from schema.scalars import SCALAR_OVERRIDES
from schema.statistics import StatisticsQueries
from schema.text_rules import NoNulInStrings
from schema.webhooks import WebhookMutations, WebhookQueries
from store.errors import ErrorCode, HubError


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
    CustodyQueries,
    AssessmentQueries,
    JusticeQueries,
    InterventionQueries,
    GroupQueries,
    FamilyConsentQueries,
    ReintegrationQueries,
    FundingQueries,
    DeskQueries,
    StatisticsQueries,
    CaseLinkQueries,
):
    pass


@strawberry.type
class Mutation(
    OrganizationMutations,
    CaseMutations,
    ReferralMutations,
    RepatriationMutations,
    WebhookMutations,
    CustodyMutations,
    AssessmentMutations,
    JusticeMutations,
    InterventionMutations,
    GroupMutations,
    ReintegrationMutations,
    FundingMutations,
    ErasureMutations,
    DeskMutations,
    CaseLinkMutations,
):
    pass


class _Schema(Schema):
    """strawberry logs every error with its message and the query source around it (what
    ``str(GraphQLError)`` prints), and messages quote the refused input: survivor data.
    Nothing is logged here; ``ErrorCodes`` logs each bug once, with its request id, operation
    name, type and path only (``schema.errors.log_internal``)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Hooks found once per extension class (``schema.extension_hooks``)."""
        return RememberedHooksRunner(execution_context=execution_context, extensions=extensions)

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Strawberry's resolver, given only representations of a checked shape (see
        ``schema.entities``): any other shape made it fail with an AttributeError."""
        keys = self.__dict__.get("_entity_keys")
        if keys is None:
            keys = self.__dict__["_entity_keys"] = entity_keys(self.schema_converter.type_map)
        results: list[FederationAny] = []
        for index, representation in enumerate(representations):
            try:
                checked = checked_representation(index, representation, keys, self._schema)
            except HubError as refusal:
                results.append(FederationAny(refusal))
                continue
            results.extend(super().entities_resolver(info, [FederationAny(checked)]))
        return results


FEDERATION_SCOPE = "federation:read"


def _federation_needs_scope(schema: Schema) -> None:
    """``_service { sdl }`` hands out the whole schema, introspection off or not: only a
    client holding ``federation:read`` (a gateway composing the supergraph) gets it.

    The check wraps the field's resolver, so aliases and fragments cannot walk past it.
    """
    query_type = schema._schema.query_type
    assert query_type is not None
    field = query_type.fields["_service"]
    resolve = field.resolve
    assert resolve is not None

    def guarded(root: Any, info: Any, **kwargs: Any) -> Any:
        principal = getattr(info.context, "principal", None)
        if principal is None or not principal.has(FEDERATION_SCOPE):
            raise HubError(
                ErrorCode.FORBIDDEN, f"this operation needs the '{FEDERATION_SCOPE}' scope"
            )
        return resolve(root, info, **kwargs)

    field.resolve = guarded


def build_schema(
    *,
    introspection: bool,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 2000,
    recorder: Recorder | None = None,
) -> Schema:
    # Factories, not instances: each operation gets fresh extensions; the parse and
    # validation caches are shared at module level by strawberry itself. The validation
    # cache is keyed by the rule classes, and each limiter instance makes a new class: built
    # once here, the rules stay the same objects, so an identical operation hits the cache.
    rules: list[type[ASTValidationRule]] = [
        NoNulInStrings,
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    extensions: list[Any] = [
        # First in, last out: it sees the codes ErrorCodes gives.
        lambda: ObservedOperations(recorder),
        ErrorCodes,
        DisclosureWrites,
        PerOperationLoaders,
        lambda: _ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        OneOperationChosen,
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    schema = _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FlatMemoryExecutor,
        scalar_overrides=SCALAR_OVERRIDES,
        federation_version="2.9",
    )
    _federation_needs_scope(schema)
    return schema
