"""The fan-out bench's own frame reader (bench/fanout.py ``Subscription.frames``): what it
times is only worth anything if it reads every frame, once, wherever the kernel split the
stream, and hands whatever it does not parse itself whole to the sans-I/O protocol."""

from __future__ import annotations

import json

from bench.fanout import Subscription


def text_frame(payload: bytes, fin: bool = True) -> bytes:
    """An unmasked server frame (RFC 6455 5.2)."""
    first = (0x80 if fin else 0x00) | 0x1
    size = len(payload)
    if size < 126:
        return bytes([first, size]) + payload
    if size < 1 << 16:
        return bytes([first, 126]) + size.to_bytes(2, "big") + payload
    return bytes([first, 127]) + size.to_bytes(8, "big") + payload


def next_message(event_id: int, padding: int = 0) -> bytes:
    payload = {"data": {"events": {"id": str(event_id), "type": "X" * padding}}}
    return json.dumps({"id": "1", "type": "next", "payload": payload}).encode()


class Recording(Subscription):
    """Records the frames handed to the sans-I/O protocol instead of parsing them."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []
        super().__init__("ws://127.0.0.1:1/graphql", "", False, self._record)
        self.handed: list[bytes] = []
        self.ws.receive_data = self.handed.append  # type: ignore[method-assign]
        self._events = lambda now: None  # type: ignore[method-assign]

    def _record(self, event_id: int, now: float) -> None:
        self.seen.append((event_id, now))


async def test_every_frame_once_wherever_the_stream_is_split() -> None:
    # short, 16-bit and 64-bit lengths
    stream = b"".join(text_frame(next_message(i, (0, 200, 70_000)[i % 3])) for i in range(1, 7))
    for cut in [1, 2, 3, 4, 9, 11, 127, 129, 1000, len(stream) // 2, len(stream) - 1]:
        sub = Recording()
        sub.frames(stream[:cut], 1.0)
        sub.frames(stream[cut:], 2.0)
        assert [i for i, _ in sub.seen] == [1, 2, 3, 4, 5, 6], cut
        assert sub.pending == b""
        assert sub.handed == []


async def test_byte_by_byte_times_each_frame_when_its_last_byte_arrives() -> None:
    frames = [text_frame(next_message(7)), text_frame(next_message(8, 300))]
    sub = Recording()
    clock = 0.0
    ends = []
    for frame in frames:
        for byte in frame:
            clock += 1
            sub.frames(bytes([byte]), clock)
        ends.append(clock)
    assert sub.seen == [(7, ends[0]), (8, ends[1])]


async def test_other_frames_go_whole_to_the_sans_io_protocol_in_order() -> None:
    ping = bytes([0x89, 4]) + b"ping"
    fragment = text_frame(b'{"id":"1",', fin=False)
    continuation = bytes([0x80, 5]) + b'"x":1'
    compressed = bytes([0xC1, 3]) + b"abc"
    stream = (
        text_frame(next_message(1))
        + ping
        + fragment
        + continuation
        + compressed
        + text_frame(next_message(2))
    )
    sub = Recording()
    sub.frames(stream[:-3], 1.0)
    assert [i for i, _ in sub.seen] == [1]
    assert sub.handed == [ping, fragment, continuation, compressed]
    sub.frames(stream[-3:], 2.0)
    assert sub.seen == [(1, 1.0), (2, 2.0)]
    assert sub.handed == [ping, fragment, continuation, compressed]
