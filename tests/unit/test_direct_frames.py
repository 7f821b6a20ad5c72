"""A shared subscription writes one prebuilt frame per member straight to its socket, and
falls back to the member's bounded queue whenever the socket cannot take it at once."""

from __future__ import annotations

import json
import time

import pytest
from websockets.frames import Frame, Opcode

from gateway.direct_frames import text_frame
from gateway.fanout import TOKEN_EXPIRED, TOO_SLOW, Member
from orgs.principal import Principal

PRINCIPAL = Principal(organization_id="org-1", client_id="client-1")


class Socket:
    """A direct writer that takes frames while ``open``, as a transport under its
    high-water mark does, and refuses them otherwise."""

    def __init__(self) -> None:
        self.open = True
        self.frames: list[bytes] = []

    def __call__(self, frame: bytes) -> bool:
        if self.open:
            self.frames.append(frame)
        return self.open


def sent(frame: bytes) -> dict[str, object]:
    """The message a client reads from one unmasked text frame."""
    length = frame[1]
    body = frame[2:] if length < 126 else frame[4:] if length == 126 else frame[10:]
    assert frame[0] == 0x81 and len(body) == (length if length < 126 else len(body))
    message: dict[str, object] = json.loads(body)
    return message


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
def test_a_text_frame_is_byte_for_byte_what_websockets_would_send(size: int) -> None:
    data = ("é" * size).encode()[:size]
    expected = Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
    assert text_frame(data) == expected


async def test_a_member_whose_socket_takes_frames_gets_them_at_once_and_in_order() -> None:
    socket = Socket()
    member = Member("op-1", PRINCIPAL, capacity=2, direct=socket)
    frames: dict[str, bytes] = {}
    for n in range(5):  # more than its queue holds: nothing waits in it
        member.offer(json.dumps({"data": {"n": n}}), frames if n == 0 else None)
    assert [sent(f) for f in socket.frames] == [
        {"id": "op-1", "type": "next", "payload": {"data": {"n": n}}} for n in range(5)
    ]
    assert not member.payloads and member.ending is None
    assert list(frames) == [member.head]  # built once, for the next member of this head


async def test_members_with_the_same_operation_id_share_one_frame_per_event() -> None:
    first, second, other = Socket(), Socket(), Socket()
    members = [
        Member("1", PRINCIPAL, 4, direct=first),
        Member("1", PRINCIPAL, 4, direct=second),
        Member("2", PRINCIPAL, 4, direct=other),
    ]
    frames: dict[str, bytes] = {}
    for member in members:
        member.offer('{"data":{}}', frames)
    assert first.frames[0] is second.frames[0]
    assert sent(other.frames[0])["id"] == "2" and len(frames) == 2


async def test_a_socket_that_cannot_take_more_queues_and_then_cuts_off_a_slow_reader() -> None:
    socket = Socket()
    member = Member("1", PRINCIPAL, capacity=3, direct=socket)
    member.offer('{"n":0}')
    socket.open = False  # the transport passed its high-water mark
    for n in (1, 2):
        member.offer(f'{{"n":{n}}}')
    socket.open = True  # drained, but what is queued goes first: no frame overtakes it
    member.offer('{"n":3}')
    assert len(socket.frames) == 1 and list(member.payloads) == ['{"n":1}', '{"n":2}', '{"n":3}']
    member.offer('{"n":4}')  # a fourth waiting payload is more than the queue may hold
    assert member.ending is TOO_SLOW and len(socket.frames) == 1


async def test_an_expired_member_is_sent_nothing_more() -> None:
    socket = Socket()
    expired = Principal("org-1", "client-1", expires_at=int(time.time()) - 1)
    member = Member("1", expired, capacity=3, direct=socket)
    member.offer('{"n":0}')
    assert member.ending is TOKEN_EXPIRED and socket.frames == [] and not member.payloads
