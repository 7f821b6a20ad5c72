"""Heartbeats find dead sockets: a partner whose network vanished stops holding a subscription."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct

from tests.network import Template, serve_hub


def _frame(text: str) -> bytes:
    """One masked text frame, as a client must send it."""
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    return header + mask + masked


async def test_a_peer_that_stops_answering_pings_is_dropped(template: Template) -> None:
    async with serve_hub(template, ws_ping=1.0) as hub:
        pump = hub.app.state.hub.pump
        token = await hub.token("secretariat")
        host, port = hub.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /graphql HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        assert b" 101 " in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.write(
            _frame(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
        )
        writer.write(
            _frame(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": "subscription { events { id } }"},
                    }
                )
            )
        )
        await writer.drain()
        for _ in range(100):  # the subscription registers with the pump
            if pump.subscriber_count == 1:
                break
            await asyncio.sleep(0.05)
        assert pump.subscriber_count == 1
        # From here this peer reads nothing and answers no ping, like a phone that lost signal.
        for _ in range(100):
            if pump.subscriber_count == 0:
                break
            await asyncio.sleep(0.05)
        assert pump.subscriber_count == 0
        writer.close()
        del reader
