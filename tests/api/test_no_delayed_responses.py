"""A response is not held back by Nagle's algorithm waiting for the client's delayed ACK.

uvicorn writes a response's headers and its body apart; with Nagle on, the body waited for the
acknowledgement of the headers, which a client delays by ~40 ms: every request on a kept-alive
connection paid it. asyncio turns Nagle off on the connections of a socket made for TCP by name,
as the ones it binds for uvicorn from a host and a port (``referral-hub serve``).
"""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn

from gateway.serving import HubServer
from tests.network import RunningHub

TYPENAME = "query { __typename }"


def no_delay(server: uvicorn.Server) -> list[int]:
    """TCP_NODELAY of every connection the server holds."""
    found = []
    for protocol in server.server_state.connections:
        transport = protocol.transport
        sock = transport.get_extra_info("socket")
        found.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    return found


async def test_the_test_hub_answers_without_nagle(hub: RunningHub) -> None:
    result = await hub.gql("adhoc", TYPENAME)
    assert result.status == 200 and not result.errors
    assert hub.server is not None
    flags = no_delay(hub.server)
    assert flags and all(flags), flags


async def test_a_hub_served_from_a_host_and_port_answers_without_nagle(hub: RunningHub) -> None:
    # The CLI's way of serving (gateway/cli.py): uvicorn binds from a host and a port.
    config = uvicorn.Config(hub.app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = HubServer(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        token = await hub.token("adhoc")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.post(
                "/graphql",
                json={"query": TYPENAME},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200 and "errors" not in response.json()
            flags = no_delay(server)
            assert flags and all(flags), flags
    finally:
        server.should_exit = True
        await task
