"""The reference graphql-ws client (npm `graphql-ws`, used by Apollo Client, urql and Hive
Gateway) understands the hub's close codes: on 4403 it asks its `connectionParams` again (a
new token) and resubscribes; on 1008 it gives up. Needs node and an npm install of
`graphql-ws` and `ws` named by HUB_NODE_MODULES (``.ci/run`` provides both)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.api.event_support import SUSPEND
from tests.network import Template, serve_hub

NODE_MODULES = os.environ.get("HUB_NODE_MODULES")
SCRIPT = Path(__file__).parent / "node" / "graphql_ws_client.cjs"

pytestmark = pytest.mark.skipif(
    not NODE_MODULES or shutil.which("node") is None,
    reason="needs node and HUB_NODE_MODULES (npm graphql-ws and ws); .ci/run installs them",
)


class Client:
    """The node process, and every line it printed so far."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []

    async def until(self, what: str, done: Any, seconds: float = 30.0) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(seconds):
            while not done(self.lines):
                raw = await self.process.stdout.readline()
                assert raw, f"the client ended before {what}: {self.lines}"
                self.lines.append(json.loads(raw))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == name]


async def test_the_reference_client_renews_its_token_on_4403_and_stops_on_1008(
    template: Template,
) -> None:
    async with serve_hub(template, access_token_ttl=2) as hub:
        partner = hub.members["ngo-thailand"]
        process = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            stdout=asyncio.subprocess.PIPE,
            env=os.environ
            | {
                "HUB_URL": hub.base_url,
                "CLIENT_ID": partner.client_id,
                "CLIENT_SECRET": partner.client_secret,
            },
        )
        client = Client(process)
        try:
            # The token expires after two seconds: the hub closes with 4403, and the client
            # fetches a new token and connects again by itself.
            await client.until("a reconnection", lambda lines: len(client.events("connected")) >= 2)
            assert {"event": "closed", "code": 4403, "reason": "token expired"} in client.lines
            assert len(client.events("token")) >= 2
            assert all(t["status"] == 200 for t in client.events("token"))

            coordinator = (await hub.fetch_token("secretariat"))["access_token"]
            suspended = await hub.gql(
                None, SUSPEND, {"id": partner.organization_id}, token=coordinator
            )
            assert suspended.errors == [], suspended.body

            await client.until("giving up", lambda lines: bool(client.events("gave up")))
            (gave_up,) = client.events("gave up")
            assert gave_up["code"] == 1008
            # No new token was asked for after the 1008: the client stopped at once.
            closes = [i for i, line in enumerate(client.lines) if line.get("code") == 1008]
            assert closes and not [
                line for line in client.lines[closes[0] :] if line["event"] == "token"
            ]
            async with asyncio.timeout(10):
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
