"""The context every resolver receives: who is asking, and the hub's services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from orgs.principal import Principal
from store.errors import ErrorCode, HubError
from store.reads import RequestReads, reads_of

if TYPE_CHECKING:
    from cases.access import CaseView
    from cases.models import (
        CaseStatusChange,
        ReferralChange,
        RepatriationChange,
        RepatriationCost,
    )
    from notifications.pump import EventPump
    from orgs.models import ApiClient, MembershipChange, Organization
    from store.case_keys import CaseCipher
    from store.engine import Database
    from store.sealed import FieldCipher


@dataclass
class Loaders:
    """Dataloaders live for one operation, never longer."""

    membership_history: DataLoader[str, list[MembershipChange]]
    clients: DataLoader[str, list[ApiClient]]
    status_history: DataLoader[str, list[CaseStatusChange]]
    organizations: DataLoader[str, Organization | None]
    referral_history: DataLoader[str, list[ReferralChange]]
    case_views: DataLoader[tuple[str, frozenset[str]], CaseView | None]
    repatriation_history: DataLoader[str, list[RepatriationChange]]
    repatriation_costs: DataLoader[str, list[RepatriationCost]]
    # Each case's key, for opening what is sealed under it (one statement per request).
    case_openers: DataLoader[str, CaseCipher] | None = None


def make_loaders(
    db: Database,
    principal: Principal | None,
    cipher: FieldCipher,
    reads: RequestReads | None = None,
) -> Loaders:
    """The operation's loaders; those on the hot paths (organisations, cases, status
    history) read in the request's read transaction when there is one."""
    from cases import referrals as referrals_service
    from cases import repatriation as repatriation_service
    from cases import service as cases_service
    from cases.case_keys import case_ciphers
    from orgs import service
    from schema.disclosures import collector

    disclose = collector()  # the operation's, captured once: batches run in their own tasks

    async def history(ids: list[str]) -> list[list[MembershipChange]]:
        found = await service.membership_history(db, ids)
        return [found[i] for i in ids]

    async def clients(ids: list[str]) -> list[list[ApiClient]]:
        found = await service.list_clients(db, ids)
        return [found[i] for i in ids]

    async def status_history(ids: list[str]) -> list[list[CaseStatusChange]]:
        found = await cases_service.status_history(db, ids, reads)
        return [found[i] for i in ids]

    async def organizations(ids: list[str]) -> list[Organization | None]:
        found = await service.organizations_by_id(db, ids, reads)
        return [found.get(i) for i in ids]

    async def referral_history(ids: list[str]) -> list[list[ReferralChange]]:
        found = await referrals_service.referral_history(db, ids)
        return [found[i] for i in ids]

    async def case_views(keys: list[tuple[str, frozenset[str]]]) -> list[CaseView | None]:
        # One batch for a whole page: access, consent and disclosures decided together,
        # opening only the survivor fields the operation asked for.
        if principal is None:
            return [None for _ in keys]
        ids = sorted({case_id for case_id, _ in keys})
        fields = frozenset().union(*(wanted for _, wanted in keys))
        views = await cases_service.read_cases(
            db,
            principal,
            cipher,
            case_ids=ids,
            limit=500,
            fields=fields,
            disclose=disclose,
            reads=reads,
        )
        by_id = {v.case.id: v for v in views}
        return [by_id.get(case_id) for case_id, _ in keys]

    async def repatriation_history(ids: list[str]) -> list[list[RepatriationChange]]:
        changes, _ = await repatriation_service.history_and_costs(db, ids)
        return [changes[i] for i in ids]

    async def repatriation_costs(ids: list[str]) -> list[list[RepatriationCost]]:
        _, costs = await repatriation_service.history_and_costs(db, ids)
        return [costs[i] for i in ids]

    async def case_openers(ids: list[str]) -> list[CaseCipher]:
        async with reads_of(db, reads).session() as session:
            found = await case_ciphers(session, cipher, ids)
        return [found[i] for i in ids]

    return Loaders(
        case_openers=DataLoader(case_openers),
        repatriation_history=DataLoader(repatriation_history),
        repatriation_costs=DataLoader(repatriation_costs),
        membership_history=DataLoader(history),
        clients=DataLoader(clients),
        status_history=DataLoader(status_history),
        organizations=DataLoader(organizations),
        referral_history=DataLoader(referral_history),
        case_views=DataLoader(case_views),
    )


@dataclass
class HubContext:
    db: Database
    request_id: str
    cipher: FieldCipher
    pump: EventPump | None = None
    production: bool = False
    standing_check: Callable[[Principal], Awaitable[bool]] | None = None
    principal: Principal | None = None
    # The request's one read transaction (HTTP); None on websockets and in tests that build
    # a context by hand: every read is then a transaction of its own.
    reads: RequestReads | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    # Set by the operation's extensions, for the answer cache (gateway/answers.py): whether
    # the operation recorded a disclosure, and what ObservedOperations reported.
    disclosed: bool = False
    observed: Any = None

    @property
    def actor(self) -> Principal:
        if self.principal is None:
            raise HubError(ErrorCode.UNAUTHENTICATED, "a valid access token is required")
        return self.principal

    @property
    def reader(self) -> RequestReads:
        """Where this operation reads: the request's transaction, or one per read."""
        if self.reads is None:
            self.reads = reads_of(self.db, None)
        return self.reads

    @property
    def loaders(self) -> Loaders:
        """Loaders for the current operation. A websocket keeps one context for its whole
        life, so loaders hang off the operation (see ``PerOperationLoaders``), never the
        context: a cached row must not outlive the operation that loaded it."""
        holder = _operation_loaders.get()
        if holder is None:  # outside an operation: nothing to share
            return make_loaders(self.db, self.principal, self.cipher, self.reads)
        # graphql-core resolves list items in tasks, each with a copy of the context: they
        # must share the operation's one holder, or every item gets its own loaders and
        # nothing is batched.
        if "loaders" not in holder:
            holder["loaders"] = make_loaders(self.db, self.principal, self.cipher, self.reads)
        return holder["loaders"]


_operation_loaders: ContextVar[dict[str, Loaders] | None] = ContextVar(
    "operation_loaders", default=None
)


class PerOperationLoaders(SchemaExtension):
    """Fresh dataloaders for every operation, HTTP or websocket; and the end of the
    request's read transaction once the operation has read what it needs (before the
    disclosure entries are written, so a request never waits for a second connection
    while holding one). A mutation ends it before it runs: it writes, and reads after
    its own write."""

    async def on_execute(self) -> AsyncIterator[None]:
        reads = getattr(self.execution_context.context, "reads", None)
        if reads is not None and self.execution_context.operation_type is not OperationType.QUERY:
            await reads.close()
        try:
            yield
        finally:
            if reads is not None:
                await reads.close()

    def on_operation(self) -> Iterator[None]:
        # Not ContextVar.reset: a subscription may finish in another context than it began.
        previous = _operation_loaders.get()
        _operation_loaders.set({})
        try:
            yield
        finally:
            _operation_loaders.set(previous)
