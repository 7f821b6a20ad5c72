"""What one `sendReferral` costs the database: statements and transactions, counted on the
hub's own engine while a real HTTP request runs (the token check before it is the read
path's, counted by test_page_statements, and left out here).

The send is one write transaction: one SELECT answers the idempotency key, the case, the
receiver's standing and offers, the consent, the case's parties and the audit chain's head;
then Core inserts of the referral, its party row, its history row, its event(s) and its
audit entry (PostgreSQL reads the head again under the chain's lock). A retry is the same write transaction that finds the key and reads the
stored referral. The event pump's own poll (woken by the send's commit) is not the request's
and is left out; background work may still add a statement, so each count is taken three
times and the smallest kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from tests.api.referral_steps import SENDER, record_consent, send_input
from tests.api.test_cases_flow import open_case
from tests.api.test_referral_flow import SEND
from tests.network import RunningHub

# The send's write transaction: one SELECT (key, case, receiver, offers, consent, parties,
# the audit chain's head), then the referral, its party row, its history row, its event(s)
# in one statement and its audit entry.
SEND_STATEMENTS = 6
FIRST_SEND_EXTRA = 2  # the case's status follows: its update and its history row
# PostgreSQL: the outbox lock and its NOTIFY, the audit chain's lock and its head read
# again under it (SQLite's write transaction holds the database from its BEGIN).
POSTGRES_EXTRA = 4
RETRY_STATEMENTS = 2  # the SELECT finds the key; the stored referral
# The request's transactions besides its token check (counted by test_page_statements):
# the send, and the answer's read (a transaction that reads the case's owner although no
# text was asked for).
TRANSACTIONS = 2
_TOKEN_CHECK = ("FROM revoked_tokens", "FROM api_clients")
_WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Transaction:
    statements: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return any(s.lstrip().upper().startswith(_WRITES) for s in self.statements)

    @property
    def token_check(self) -> bool:
        """The request's token check: revocation and the client's standing, nothing else."""
        return bool(self.statements) and all(
            any(table in s for table in _TOKEN_CHECK) for s in self.statements
        )

    @property
    def pump(self) -> bool:
        """The event pump's poll: it reads the outbox and nothing else."""
        return bool(self.statements) and all(
            "FROM events" in s and "WHERE events.id >" in s for s in self.statements
        )


class Recorder:
    """Transactions and their statements, per connection, on one engine."""

    def __init__(self) -> None:
        self.done: list[Transaction] = []
        self.open: dict[int, Transaction] = {}

    def begin(self, conn: Any) -> None:
        self.open[id(conn)] = Transaction()

    def statement(self, conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        # SQLite's driver sends BEGIN as a statement, asyncpg does not: count the queries.
        if not sql.startswith("BEGIN"):
            self.open.setdefault(id(conn), Transaction()).statements.append(sql)

    def end(self, conn: Any) -> None:
        txn = self.open.pop(id(conn), None)
        if txn is not None:
            self.done.append(txn)

    def request(self) -> list[Transaction]:
        """The request's transactions but its token check (and the pump's poll)."""
        return [t for t in self.done if not t.pump and not t.token_check]


async def counted(hub: RunningHub, variables: dict[str, Any]) -> tuple[int, int, int]:
    """(statements in the write transaction, the request's transactions, its write
    transactions) of one send, its answer checked."""
    token = await hub.token(SENDER)
    recorder = Recorder()
    engine = hub.db.engine.sync_engine
    hooks = [
        ("begin", recorder.begin),
        ("before_cursor_execute", recorder.statement),
        ("commit", recorder.end),
        ("rollback", recorder.end),
    ]
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        result = await hub.gql(None, SEND, variables, token=token)
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)
    assert not result.errors, result.errors
    assert result.data["sendReferral"]["status"] == "SENT"
    txns = recorder.request()
    send = [t for t in txns if any("earlier_id" in s for s in t.statements)]
    assert len(send) == 1, [t.statements for t in txns]
    return len(send[0].statements), len(txns), sum(1 for t in txns if t.writes)


async def least(hub: RunningHub, make: Any) -> tuple[int, int, int]:
    return min([await counted(hub, make(n)) for n in range(3)])


def extra(hub: RunningHub) -> int:
    return POSTGRES_EXTRA if hub.db.dialect == "postgresql" else 0


async def consented_case(hub: RunningHub) -> str:
    case_id = await open_case(hub)
    await record_consent(hub, case_id, ["LEGAL_AID"], members=("adhoc",))
    return case_id


async def test_a_send_is_one_write_transaction_of_six_statements(hub: RunningHub) -> None:
    case_id = await consented_case(hub)
    first = await counted(hub, send_input(hub, case_id, "adhoc", "send-count-first"))
    assert first == (SEND_STATEMENTS + FIRST_SEND_EXTRA + extra(hub), TRANSACTIONS, 1)

    # The case is REFERRED now: a further referral of it leaves the case row alone.
    again = await least(hub, lambda n: send_input(hub, case_id, "adhoc", f"send-count-{n:04d}"))
    assert again == (SEND_STATEMENTS + extra(hub), TRANSACTIONS, 1)


async def test_a_retried_send_reads_and_writes_nothing_new(hub: RunningHub) -> None:
    case_id = await consented_case(hub)
    variables = send_input(hub, case_id, "adhoc", "send-count-retry")
    await counted(hub, variables)
    before = await hub.scalar("SELECT COUNT(*) FROM audit")

    retry = await least(hub, lambda _n: variables)

    # Still one write transaction (SQLite's write lock: concurrent retries queue on it and
    # the later ones find the key), but it reads only.
    assert retry == (RETRY_STATEMENTS, TRANSACTIONS, 0)
    assert await hub.scalar("SELECT COUNT(*) FROM audit") == before
