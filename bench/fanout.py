"""Fan-out benchmark: one change to N websocket subscribers, next to a bare Starlette broadcast.

Run from the repository root (loopback only; stops by itself, within --time-limit seconds):

    .venv/bin/python bench/fanout.py [--subscribers 1000] [--events 20] [--clients 2]
                                     [--flat-events 10000] [--compression none|deflate]

5,000 subscribers: ``--subscribers 5000 --flat-events 0 --time-limit 600`` (slow on 2 cores).

On a fresh SQLite database with the demo network (tests/network.py), a real hub (uvicorn) runs
in its own process, with the standing cache at its production value (2 s). Then:
1. in-process: in the hub process, N ``Subscriber`` queues on the hub's own ``EventPump``
   receive E membership changes made by ``orgs.service.change_membership`` (no websockets, no
   GraphQL): what the pump alone costs;
2. websockets, interleaved round by round with the anchor: N graphql-transport-ws
   subscriptions ``events(topics: [ORGANIZATION])`` as the secretariat, spread over --clients
   processes; the driver alternates suspendOrganization and reinstateOrganization of
   ccpcr-shelter over HTTP, waiting for each change to arrive everywhere. The anchor is a bare
   Starlette app under the same uvicorn websocket implementation and compression, in its own
   process, holding N sockets of the same client code (it answers connection_init and
   subscribe like the hub) and sending one pre-encoded ``next`` frame to each in a plain loop;
3. flatness: on a second, fresh hub with the bench's own bookkeeping off (nothing recorded per
   event), one subscription receives --flat-events outbox rows.

The hub and the anchor run pinned to one core (they take turns), the client processes to
the other. Clients open and subscribe on a plain asyncio protocol over the ``websockets``
sans-I/O client; once subscribed, each client process reads all its sockets from one epoll
set (``take_over``), parsing whole unmasked text frames itself and timing each read, with
pings, closes and anything else handed whole to the sans-I/O protocol. Hub and anchor are
read by the same client code. Why: at 5,000 the two client processes, not the servers, set
the latency otherwise (measured with this bench's "client CPU µs per delivery": ~80 µs on
the asyncio protocol path against ~30 µs of server CPU; 18-47 µs with ``take_over``), and
earlier with the ``websockets`` asyncio client (a task and a queue per socket) still more.
Also reported: the hub's garbage collections while the subscriptions open and during the
events (a full one landing in an event would add its length to that event's latencies).

Reading it. Latency = receive time in the receiving process minus the server-side start time
(time.time() on both sides of one machine): for the hub the commit, taken in its after-commit
hook; for the anchor the moment it starts its send loop. "lost" = N x E expected deliveries
minus distinct deliveries received. "hub CPU µs" = server user+system time in the phase per
delivery. "memory per idle subscriber" = hub RSS growth (after gc) from opening N
subscriptions, over N. Flatness rows: hub RSS and live allocated blocks
(sys.getallocatedblocks, after gc) at 0, 1/4 ... all events; a flat line means nothing is
kept per delivered event, a rising one is a leak.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import multiprocessing as mp
import os
import resource
import select
import signal
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import orjson
from websockets.protocol import State

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if __name__ in ("__main__", "__mp_main__"):  # not when a test imports it
    os.environ.pop("HUB_TEST_DATABASE_URL", None)  # this benchmark runs on SQLite

SUBSCRIPTION = "subscription { events(topics: [ORGANIZATION]) { id type } }"
SUSPEND = 'mutation($id: ID!) { suspendOrganization(id: $id, reason: "bench") { status } }'
REINSTATE = 'mutation($id: ID!) { reinstateOrganization(id: $id, reason: "bench") { status } }'
Delivery = tuple[int, int, float]  # (subscriber index, event id, receive time)


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


async def until(ready: Callable[[], bool], limit: float) -> bool:
    """Poll a cheap in-memory condition until it holds or ``limit`` seconds pass."""
    deadline = time.monotonic() + limit
    while not ready() and time.monotonic() < deadline:  # noqa: ASYNC110 - plain counters
        await asyncio.sleep(0.002)
    return ready()


# --- the hub process: serves, and answers the driver's commands over a pipe ----------------


def hub_main(conn: Connection, record: bool, deflate: bool) -> None:
    import authlib.deprecate  # noqa: F401 - it adds an "always" filter; ours goes in front

    from bench.loadgen import pin

    pin(0)  # the clients run on the other core

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    asyncio.run(_hub(conn, record, deflate))


async def _hub(conn: Connection, record: bool, deflate: bool) -> None:
    from notifications.models import Event
    from notifications.outbox import emit
    from notifications.pump import Subscriber
    from notifications.stream import StreamFilter
    from orgs.principal import operator
    from orgs.rules import MembershipAction
    from orgs.service import change_membership
    from tests.network import build_template, serve_hub

    loop = asyncio.get_running_loop()
    collections: list[tuple[int, float]] = []  # (generation, seconds) since last asked
    began = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            collections.append((info["generation"], time.perf_counter() - began[0]))

    gc.callbacks.append(timed)
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        template = await build_template(Path(tmp))
        async with serve_hub(template, status_cache_seconds=2.0, ws_compression=deflate) as hub:
            db, pump = hub.app.state.hub.db, hub.app.state.hub.pump
            sec = hub.members["secretariat"].organization_id
            shelter = hub.members["ccpcr-shelter"].organization_id
            last_commit, commits = [0.0], dict[int, float]()

            def observe(row: Event) -> None:  # changes are serial: the last commit made this row
                commits[row.id] = last_commit[0]

            if record:  # off for flatness: the bench must not grow the hub it measures
                db.on_events_committed(lambda: last_commit.__setitem__(0, time.time()))
                pump.observers.append(observe)
            organization = StreamFilter(topics=frozenset({"ORGANIZATION"}))

            async def baseline(n: int, e: int) -> list[Delivery]:
                subs = [pump.subscribe(lambda ev: organization.wants(ev, sec)) for _ in range(n)]
                got: list[Delivery] = []

                async def consume(i: int, sub: Subscriber) -> None:
                    while True:
                        event = await sub.next()
                        got.append((i, event.id, time.time()))

                tasks = [asyncio.create_task(consume(i, s)) for i, s in enumerate(subs)]
                for k in range(e):
                    action = MembershipAction.SUSPEND if k % 2 == 0 else MembershipAction.REINSTATE
                    await change_membership(db, operator(), shelter, action, "bench baseline")
                    await until(lambda: len(got) >= n * (k + 1), 15)  # noqa: B023 - awaited here
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for sub in subs:
                    pump.unsubscribe(sub)
                return got

            async def emit_rows(count: int) -> None:
                for start in range(0, count, 100):
                    async with db.write() as session:
                        for _ in range(min(100, count - start)):
                            await emit(
                                session,
                                topic="ORGANIZATION",
                                type="BENCH_TICK",
                                subject_id=shelter,
                                actor_organization_id=sec,
                                audience=[sec],
                            )

            conn.send(
                {
                    "pid": os.getpid(),
                    "base_url": hub.base_url,
                    "ws_url": hub.ws_url,
                    "token": await hub.token("secretariat"),
                    "shelter": shelter,
                }
            )
            while True:
                cmd, *args = await loop.run_in_executor(None, conn.recv)
                reply: Any = None
                if cmd == "baseline":
                    reply = await baseline(*args)
                elif cmd == "gc":
                    gc.collect()
                    reply = sys.getallocatedblocks()
                elif cmd == "subscribers":
                    reply = pump.subscriber_count
                elif cmd == "commits":
                    reply = dict(commits)
                    commits.clear()
                elif cmd == "emit":
                    await emit_rows(args[0])
                elif cmd == "collections":
                    reply = list(collections)
                    collections.clear()
                elif cmd == "tracked":
                    reply = len(gc.get_objects())
                conn.send(reply)
                if cmd == "stop":
                    break


# --- the anchor: a bare Starlette websocket broadcast ---------------------------------------


def bare_main(conn: Connection, deflate: bool) -> None:
    from bench.loadgen import pin

    pin(0)  # like the hub (the two take turns): the clients run on the other core
    asyncio.run(_bare(conn, deflate))


async def _bare(conn: Connection, deflate: bool) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    subscribers: list[tuple[WebSocket, str]] = []
    started: dict[int, float] = {}

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept(subprotocol="graphql-transport-ws")
        await ws.receive_text()  # connection_init
        await ws.send_text('{"type":"connection_ack"}')
        op = json.loads(await ws.receive_text())["id"]
        entry = (ws, json.dumps(op))
        subscribers.append(entry)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            subscribers.remove(entry)

    async def broadcast(k: int) -> None:
        payload = json.dumps({"data": {"events": {"id": str(k), "type": "BENCH"}}})
        started[k] = time.time()
        for ws, op in list(subscribers):
            await ws.send_text('{"id":' + op + ',"type":"next","payload":' + payload + "}")

    app = Starlette(routes=[WebSocketRoute("/graphql", endpoint)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=deflate,
        lifespan="off",
        backlog=4096,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await until(lambda: bool(server.started), 30)
    loop = asyncio.get_running_loop()
    conn.send({"pid": os.getpid(), "ws_url": f"ws://127.0.0.1:{sock.getsockname()[1]}/graphql"})
    while True:
        cmd, *args = await loop.run_in_executor(None, conn.recv)
        reply: Any = None
        if cmd == "broadcast":
            await broadcast(args[0])
        elif cmd == "subscribers":
            reply = len(subscribers)
        elif cmd == "started":
            reply = dict(started)
        conn.send(reply)
        if cmd == "stop":
            break
    server.should_exit = True
    await task


# --- websocket clients ---------------------------------------------------------------------


class Subscription(asyncio.Protocol):
    """One graphql-transport-ws subscription on a plain asyncio protocol driven by the
    ``websockets`` sans-I/O client, with no task, queue or wake-up per socket and message
    (the ``websockets`` asyncio client costs several times as much per message, and at
    5,000 sockets the clients, not the servers, set the latency). Until ``take_over``,
    frames are parsed and timed in ``data_received``; after it, in ``frames``. Pings are
    answered by the sans-I/O protocol."""

    def __init__(self, url: str, token: str, deflate: bool, on_next: Callable[[int, float], None]):
        from websockets.client import ClientProtocol
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        from websockets.typing import Subprotocol
        from websockets.uri import parse_uri

        self.ws = ClientProtocol(
            parse_uri(url),
            subprotocols=[Subprotocol("graphql-transport-ws")],
            extensions=[ClientPerMessageDeflateFactory()] if deflate else None,
        )
        self.token = token
        self.on_next = on_next
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.pending = b""  # a partial frame, once ``frames`` reads

    def _flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self.ws.data_to_send()))

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send_text(json.dumps(message).encode())
        self._flush()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.ws.receive_data(data)
        self._events(now)

    def _events(self, now: float) -> None:
        """Whatever the sans-I/O protocol has parsed: the handshake, messages, pings."""
        from websockets.frames import Opcode
        from websockets.http11 import Response

        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._fail(f"handshake: {self.ws.handshake_exc}")
                else:
                    init = {"authorization": f"Bearer {self.token}"}
                    self._send({"type": "connection_init", "payload": init})
            elif event.opcode is Opcode.TEXT:
                self._message(event.data, now)
        self._flush()  # pongs, close replies
        if self.ws.close_code is not None:
            self._fail(f"closed {self.ws.close_code}")

    def _message(self, data: bytes, now: float) -> None:
        message = orjson.loads(data)
        kind = message.get("type")
        if kind == "next" and (message["payload"].get("data") or {}).get("events"):
            self.on_next(int(message["payload"]["data"]["events"]["id"]), now)
        elif kind == "connection_ack":
            payload = {"query": SUBSCRIPTION}
            self._send({"id": "1", "type": "subscribe", "payload": payload})
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind not in ("ping", "pong"):
            self._fail(str(message)[:200])

    def settled(self) -> bool:
        """Whether the sans-I/O parser holds no partial frame (so that ``frames`` may take
        over reading at a frame boundary)."""
        return not self.ws.reader.buffer and self.ws.state is State.OPEN

    def frames(self, data: bytes, now: float) -> None:
        """Read server frames (never masked) directly: a whole single-frame text message is
        parsed here; any other frame (ping, close, fragment) goes whole to the sans-I/O
        protocol, which therefore only ever sees complete frames and stays in step."""
        buf = self.pending + data if self.pending else data
        pos, size = 0, len(buf)
        while size - pos >= 2:
            first, second = buf[pos], buf[pos + 1]
            length, head = second & 0x7F, 2
            if length == 126:
                head = 4
                if size - pos < head:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
            elif length == 127:
                head = 10
                if size - pos < head:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            if second & 0x80:
                head += 4  # a masked frame: the sans-I/O protocol rejects it
            end = pos + head + length
            if end > size:
                break
            if first == 0x81 and not second & 0x80:  # FIN, text, unmasked
                self._message(buf[pos + head : end], now)
            else:
                self.ws.receive_data(buf[pos:end])
                self._events(now)
            pos = end
        self.pending = buf[pos:]

    def _fail(self, problem: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(problem))
        if not self.closed.done():
            self.closed.set_result(problem)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc!r}")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def take_over(loop: asyncio.AbstractEventLoop, sockets: list[Subscription]) -> select.epoll:
    """Read every open subscription from one epoll set, drained by one callback of the
    event loop: per frame one ``os.read`` and ``Subscription.frames``, instead of asyncio's
    handle, transport and protocol calls and the sans-I/O parser for each. Writes (pongs)
    still go through each transport. A socket whose parser holds a partial frame stays
    on the asyncio path."""
    reader = select.epoll()
    by_fd: dict[int, Subscription] = {}
    for sub in sockets:
        if sub.transport is None or sub.transport.is_closing() or not sub.settled():
            continue
        sub.transport.pause_reading()
        fd = sub.transport.get_extra_info("socket").fileno()
        reader.register(fd, select.EPOLLIN)
        by_fd[fd] = sub

    def drain() -> None:
        for fd, _ in reader.poll(0, max(1, len(by_fd))):
            sub = by_fd[fd]
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                data, problem = b"", repr(exc)
            else:
                problem = "eof"
            if not data:
                reader.unregister(fd)
                del by_fd[fd]
                sub._fail(f"connection lost: {problem}")
                continue
            sub.frames(data, time.time())

    loop.add_reader(reader.fileno(), drain)
    return reader


def client_main(conn: Connection, *args: Any) -> None:
    from bench.loadgen import pin

    pin(1)  # the servers run on the other core
    asyncio.run(_client(conn, *args))


async def _client(
    conn: Connection, url: str, token: str, first: int, count: int, deflate: bool
) -> None:
    """``count`` subscriptions; reports deliveries as (first + index, event id, time)."""
    from urllib.parse import urlsplit

    loop = asyncio.get_running_loop()
    counts, got, problems = [0] * count, list[Delivery](), list[str]()
    gate = asyncio.Semaphore(10)  # a connect storm is not what this measures
    where = urlsplit(url)
    live: set[int] = set()
    # reached[k]: open sockets with at least k deliveries, kept as they come, so that waiting
    # for a round costs nothing per socket (a min over 2,500 counts every 2 ms took CPU
    # from reading the sockets, on the same core).
    reached = [0]

    def receiver(i: int) -> Callable[[int, float], None]:
        def on_next(event_id: int, now: float) -> None:
            got.append((first + i, event_id, now))
            counts[i] += 1
            if i in live:
                if counts[i] == len(reached):
                    reached.append(0)
                reached[counts[i]] += 1

        return on_next

    async def one(i: int) -> Subscription:
        async with gate:
            _, sub = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Subscription(url, token, deflate, receiver(i)),
                    where.hostname,
                    where.port,
                ),
                60,
            )
            await asyncio.wait_for(sub.ready, 60)
            return sub

    opened = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    sockets = [sub for sub in opened if isinstance(sub, Subscription)]
    problems += [f"open failed: {sub!r}"[:200] for sub in opened if isinstance(sub, BaseException)]
    live.update(i for i, sub in enumerate(opened) if isinstance(sub, Subscription))

    def ended(i: int, sub: Subscription) -> None:
        # Nothing more will come: waiting for it would only time out.
        def closed(f: asyncio.Future[str]) -> None:
            problems.append(f.result())
            if i in live:
                live.discard(i)
                for k in range(1, counts[i] + 1):
                    reached[k] -= 1

        sub.closed.add_done_callback(closed)

    for i, sub in enumerate(opened):
        if isinstance(sub, Subscription):
            ended(i, sub)
    await asyncio.sleep(0.2)  # the subscribe frames out, nothing of the handshakes in flight
    reader = take_over(loop, sockets)

    def fewest() -> int:  # deliveries on the open socket that has had the fewest
        return min((counts[i] for i in live), default=1 << 30)

    def everywhere(k: int) -> bool:  # fewest() >= k, without a pass over the sockets
        return k <= 0 or not live or (k < len(reached) and reached[k] >= len(live))

    conn.send(len(sockets))
    while True:
        cmd, *args = await loop.run_in_executor(None, conn.recv)
        if cmd == "wait":
            await until(lambda: everywhere(args[0]), args[1])  # noqa: B023 - awaited here
            conn.send(fewest())
        else:  # "close": hand over what arrived, then close
            report = (list(got), [p for p in problems if not p.startswith("connection lost")])
            conn.send(report)
            loop.remove_reader(reader.fileno())
            reader.close()
            for sub in sockets:
                sub.close()
            return


# --- the driver ----------------------------------------------------------------------------


class Hub:
    """The driver's handle on a hub process."""

    def __init__(self, ctx: Any, procs: list[Any], target: Callable[..., None], *args: Any) -> None:
        self.conn, there = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(there, *args), daemon=True, name="server")
        self.proc.start()
        procs.append(self.proc)
        self.info: dict[str, Any] = self.conn.recv()
        self.pid = int(self.info["pid"])

    def call(self, cmd: str, *args: Any) -> Any:
        self.conn.send((cmd, *args))
        return self.conn.recv()

    def stop(self) -> None:
        self.call("stop")
        self.proc.join(30)

    def wait_subscribers(self, want: int, limit: float = 60) -> int:
        deadline = time.monotonic() + limit
        while (have := int(self.call("subscribers"))) != want and time.monotonic() < deadline:
            time.sleep(0.05)
        return have

    def memory(self) -> tuple[int, int]:  # RSS KiB, live allocated blocks; after gc
        blocks = int(self.call("gc"))
        return rss_kib(self.pid), blocks


def start_client(
    ctx: Any, procs: list[Any], hub: Hub, first: int, count: int, deflate: bool
) -> Connection:
    mine, theirs = ctx.Pipe()
    procs.append(
        ctx.Process(
            target=client_main,
            daemon=True,
            args=(theirs, hub.info["ws_url"], hub.info.get("token", ""), first, count, deflate),
        )
    )
    procs[-1].start()
    return mine  # type: ignore[no-any-return]


def flatness(hub: Hub, client: Connection, total: int) -> list[tuple[int, ...]]:
    """(events received, RSS KiB, blocks) at 0, 1/4 ... ``total`` events on one subscription."""
    rows: list[tuple[int, ...]] = []
    marks, done = [round(total * q / 4) for q in range(5)], 0
    while True:
        if marks and done >= marks[0]:
            client.send(("wait", marks.pop(0), 0))
            rows.append((client.recv(), *hub.memory()))
        if done >= total:
            return rows
        step = min(500, (marks[0] if marks else total) - done)
        hub.call("emit", step)
        done += step
        client.send(("wait", done, 30))
        client.recv()


def stats(got: list[Delivery], commits: dict[int, float], expected: int, cpu: float) -> list[float]:
    """p50, p99, max latency (ms), deliveries lost, hub CPU µs per delivery."""
    lat = [(ts - commits[eid]) * 1000 for _, eid, ts in got if eid in commits]
    lost = expected - len({(i, eid) for i, eid, _ in got if eid in commits})
    per_delivery = cpu / max(1, len(lat)) * 1e6
    return [pct(lat, 50), pct(lat, 99), max(lat, default=math.nan), lost, per_delivery]


def per_event(got: list[Delivery], commits: dict[int, float]) -> list[float]:
    """The slowest delivery of each event (ms), in event order: whether a p99 is one
    stalled event (all its deliveries late) or a tail spread over all of them."""
    slowest: dict[int, float] = {}
    for _, eid, ts in got:
        if eid in commits:
            slowest[eid] = max(slowest.get(eid, 0.0), (ts - commits[eid]) * 1000)
    return [slowest[eid] for eid in sorted(slowest)]


def run(args: argparse.Namespace, ctx: Any, procs: list[Any]) -> dict[str, Any]:
    n, e, deflate = args.subscribers, args.events, args.compression == "deflate"
    r: dict[str, Any] = {"started": time.monotonic(), "problems": []}
    hub = Hub(ctx, procs, hub_main, True, deflate)
    cpu0 = cpu_seconds(hub.pid)
    base_got: list[Delivery] = hub.call("baseline", n, e)
    cpu_base, base_commits = cpu_seconds(hub.pid) - cpu0, hub.call("commits")
    r["k"] = k = max(1, min(args.clients, n))
    bare = Hub(ctx, procs, bare_main, deflate)
    bare_clients = [
        start_client(ctx, procs, bare, c * n // k, (c + 1) * n // k - c * n // k, deflate)
        for c in range(k)
    ]
    r["bare_opened"] = sum(int(client.recv()) for client in bare_clients)
    bare.wait_subscribers(r["bare_opened"])
    r["before"] = hub.memory()
    r["tracked_before"] = hub.call("tracked")
    hub.call("collections")
    clients = [
        start_client(ctx, procs, hub, c * n // k, (c + 1) * n // k - c * n // k, deflate)
        for c in range(k)
    ]
    r["opened"] = sum(int(client.recv()) for client in clients)
    r["registered"] = hub.wait_subscribers(r["opened"])
    time.sleep(0.5)
    r["opening_gc"] = hub.call("collections")
    r["after"] = hub.memory()
    r["tracked_after"] = hub.call("tracked")
    hub.call("collections")  # the bench's own gc.collect() in memory()
    client_pids = [proc.pid for proc in procs[-k:]]
    bare_client_pids = [proc.pid for proc in procs[-2 * k : -k]]
    cpu_clients = cpu_bare_clients = 0.0

    cpu_ws = cpu_bare = 0.0
    headers = {"Authorization": f"Bearer {hub.info['token']}"}
    with httpx.Client(base_url=hub.info["base_url"], headers=headers, timeout=30) as http:
        for i in range(e):  # interleaved: one anchor round, one hub round
            cpu0 = cpu_seconds(bare.pid)
            ccpu0 = sum(map(cpu_seconds, bare_client_pids))
            bare.call("broadcast", i + 1)
            for client in bare_clients:
                client.send(("wait", i + 1, 15.0))
            for client in bare_clients:
                client.recv()
            cpu_bare += cpu_seconds(bare.pid) - cpu0
            cpu_bare_clients += sum(map(cpu_seconds, bare_client_pids)) - ccpu0
            cpu0 = cpu_seconds(hub.pid)
            ccpu0 = sum(map(cpu_seconds, client_pids))
            body = http.post(
                "/graphql",
                json={
                    "query": REINSTATE if (i + e) % 2 else SUSPEND,  # after the baseline's e
                    "variables": {"id": hub.info["shelter"]},
                },
            ).json()
            assert not body.get("errors"), body
            for client in clients:
                client.send(("wait", i + 1, 15.0))
            for client in clients:
                client.recv()
            cpu_ws += cpu_seconds(hub.pid) - cpu0
            cpu_clients += sum(map(cpu_seconds, client_pids)) - ccpu0
    r["events_gc"] = hub.call("collections")
    r["client_cpu"] = (cpu_clients / max(1, n * e) * 1e6, cpu_bare_clients / max(1, n * e) * 1e6)
    commits: dict[int, float] = hub.call("commits")
    started: dict[int, float] = bare.call("started")
    ws_got: list[Delivery] = []
    bare_got: list[Delivery] = []
    for client in clients:
        client.send(("close",))
        got, trouble = client.recv()
        ws_got, r["problems"] = ws_got + got, r["problems"] + trouble
    for client in bare_clients:
        client.send(("close",))
        got, trouble = client.recv()
        bare_got, r["problems"] = bare_got + got, r["problems"] + trouble
    hub.stop()
    bare.stop()
    r["base"] = stats(base_got, base_commits, n * e, cpu_base)
    r["bare"] = stats(bare_got, started, n * e, cpu_bare)
    r["ws"] = stats(ws_got, commits, n * e, cpu_ws)
    r["per_event"] = [per_event(bare_got, started), per_event(ws_got, commits)]
    report_fanout(args, r)  # now: a time limit reached during flatness keeps these figures
    r["flat"] = []
    if args.flat_events:
        # A fresh hub (memory freed by the N sockets would hide growth on the first one), with
        # the bench's per-event bookkeeping off.
        fresh = Hub(ctx, procs, hub_main, False, deflate)
        client = start_client(ctx, procs, fresh, 0, 1, deflate)
        client.recv()
        fresh.wait_subscribers(1)
        r["flat"] = flatness(fresh, client, args.flat_events)
        client.send(("close",))
        client.recv()
        fresh.stop()
    return r


def report_fanout(args: argparse.Namespace, r: dict[str, Any]) -> None:
    print(
        f"\nfan-out: {args.subscribers} subscribers x {args.events} changes, {r['k']} client "
        f"process(es) per server, compression {args.compression}, SQLite, {os.cpu_count()} CPUs"
    )
    print(f"{'path':<26}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'lost':>8}{'CPU µs':>10}")
    rows = (
        ("hub pump, in-process", r["base"]),
        ("bare broadcast (anchor)", r["bare"]),
        ("hub websocket+GraphQL", r["ws"]),
    )
    for name, row in rows:
        print(f"{name:<26}{row[0]:>9.1f}{row[1]:>9.1f}{row[2]:>9.1f}{row[3]:>8.0f}{row[4]:>10.0f}")
    ws, bare = r["ws"], r["bare"]
    print(
        f"{'ratio hub/anchor':<26}{ws[0] / bare[0]:>9.1f}{ws[1] / bare[1]:>9.1f}"
        f"{ws[2] / bare[2]:>9.1f}{'':>8}{ws[4] / bare[4]:>10.1f}"
    )
    for name, slowest in zip(("anchor", "hub"), r["per_event"], strict=True):
        print(f"slowest delivery per event, {name}: " + " ".join(f"{ms:.0f}" for ms in slowest))
    opened, (rss0, blk0), (rss1, blk1) = max(1, r["opened"]), r["before"], r["after"]
    per_sub = (rss1 - rss0) / opened
    print(
        f"\nsubscriptions opened {r['opened']}/{args.subscribers} (anchor {r['bare_opened']}), "
        f"at the pump {r['registered']}; hub RSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB"
    )
    print(
        f"memory per idle subscriber: {per_sub:.1f} KiB RSS, "
        f"{(blk1 - blk0) / opened:.0f} allocated blocks"
    )
    print(
        f"gc-tracked objects per idle subscriber: "
        f"{(r['tracked_after'] - r['tracked_before']) / opened:.0f}"
    )
    for phase in ("opening_gc", "events_gc"):
        runs = r[phase]
        by_gen = [sum(1 for g, _ in runs if g == gen) for gen in range(3)]
        longest = max((t for _, t in runs), default=0.0) * 1000
        full = max((t for g, t in runs if g == 2), default=0.0) * 1000
        print(
            f"hub collections while {phase.split('_')[0]}: gen0/1/2 {by_gen}, "
            f"longest {longest:.1f} ms, longest full {full:.1f} ms"
        )
    mine, anchor = r["client_cpu"]
    print(f"client CPU µs per delivery: hub rounds {mine:.1f}, anchor rounds {anchor:.1f}")
    r["per_sub"] = per_sub
    sys.stdout.flush()


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    flat = r["flat"]
    if flat:
        print(f"\nmemory flatness: one subscription on a fresh hub, {args.flat_events} events")
        print(f"{'events':>8}{'RSS MiB':>10}{'Δ KiB':>9}{'blocks':>10}{'Δ blocks':>10}")
        for got, rss, blk in flat:
            print(
                f"{got:>8}{rss / 1024:>10.1f}{rss - flat[0][1]:>9}{blk:>10}{blk - flat[0][2]:>10}"
            )
        if flat[-1][0]:
            print(
                f"growth per delivered event: {(flat[-1][1] - flat[0][1]) * 1024 / flat[-1][0]:.0f}"
                f" bytes RSS, {(flat[-1][2] - flat[0][2]) / flat[-1][0]:.2f} allocated blocks"
            )
    ws, bare, per_sub = r["ws"], r["bare"], r["per_sub"]
    goal = 1000 if args.subscribers > 1000 else 2 * bare[1]
    print(
        f"\ngoals: p99 {ws[1]:.0f} ms <= {goal:.0f} ms "
        f"({'1 s' if args.subscribers > 1000 else '2x anchor'}): "
        f"{'met' if ws[1] <= goal else 'NOT met'}; lost {ws[3]:.0f}: "
        f"{'met' if ws[3] == 0 else 'NOT met'}; {per_sub:.1f} KiB per idle subscriber <= 50: "
        f"{'met' if per_sub <= 50 else 'NOT met'}"
    )
    if r["problems"]:
        print(
            f"\nclient problems ({len(r['problems'])}): "
            + "; ".join(sorted(set(r["problems"]))[:5])
        )
    print(f"\ntotal time {time.monotonic() - r['started']:.0f} s")


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise TimeoutError("benchmark time limit reached")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--flat-events", type=int, default=10_000)
    parser.add_argument("--compression", choices=["none", "deflate"], default="none")
    parser.add_argument("--time-limit", type=int, default=290, help="seconds")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * args.subscribers + 1024
    soft = want if hard == resource.RLIM_INFINITY else min(hard, want)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))  # the children inherit it
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(args.time_limit)
    procs: list[Any] = []
    try:
        report(args, run(args, mp.get_context("spawn"), procs))
        return 0
    finally:
        signal.alarm(0)
        for proc in procs:  # only the processes this benchmark started
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


if __name__ == "__main__":
    sys.exit(main())
