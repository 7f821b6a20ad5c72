"""Writing an already-encoded text frame to a websocket without a task switch.

A shared subscription (gateway/fanout.py) sends the same message to thousands of sockets
per event. Through ASGI each of those is a coroutine per socket (the member's task wakes,
Starlette checks its state, uvicorn asks ``websockets`` to build and serialise a frame):
most of the hub's cost per delivery at 5,000 subscribers. This uvicorn protocol gives the
application one extra, synchronous way to send: ``scope["extensions"][DIRECT_TEXT]`` takes
a complete, unmasked text frame (``text_frame``) and writes it straight to the transport,
or refuses (returns False) whenever the normal path must be used instead: the handshake is
not done, a close was sent or received, the peer is gone, the transport's buffer is over its
high-water mark (flow control: a slow reader then meets the bounded queue and 4499 as
before), or an extension (permessage-deflate) was negotiated, whose frames differ.

Everything else (accept, close, pings, every other message) goes through uvicorn unchanged,
and each path writes whole frames synchronously, so frames never interleave.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

DIRECT_TEXT = "hub.websocket.direct_text"

DirectText = Callable[[bytes], bool]


def text_frame(data: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 §5.2) carrying UTF-8 ``data``."""
    length = len(data)
    if length < 126:
        return bytes((0x81, length)) + data
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length) + data
    return struct.pack("!BBQ", 0x81, 127, length) + data


class DirectFrameProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, offering ``DIRECT_TEXT`` in the ASGI scope."""

    def handle_connect(self, event: object) -> None:
        super().handle_connect(event)  # type: ignore[arg-type]
        scope = getattr(self, "scope", None)
        if scope is not None:  # an accepted upgrade; the app's task has not run yet
            scope["extensions"][DIRECT_TEXT] = self.write_text_frame

    def write_text_frame(self, frame: bytes) -> bool:
        """Write ``frame`` now if the normal path would, unchanged, have written the same
        bytes without waiting; False (nothing written) otherwise."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.conn.extensions
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True
