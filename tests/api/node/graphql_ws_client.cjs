// The reference graphql-ws client (npm `graphql-ws`) subscribed to the hub, as a partner
// would run it: `connectionParams` fetches a fresh token every time it connects. Prints one
// JSON line per thing that happens, for tests/api/test_graphql_ws_client.py to read.
"use strict";

const { createRequire } = require("node:module");
const path = require("node:path");

const modules = process.env.HUB_NODE_MODULES;
const load = createRequire(path.join(modules, "noop.js"));
const { createClient } = load("graphql-ws");
const WebSocket = load("ws");

const { HUB_URL, CLIENT_ID, CLIENT_SECRET } = process.env;
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");
let tokens = 0;

async function freshToken() {
  tokens += 1;
  const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64");
  const response = await fetch(`${HUB_URL}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${basic}`,
    },
    body: "grant_type=client_credentials",
  });
  const body = await response.json();
  say({ event: "token", n: tokens, status: response.status });
  return body.access_token || "none";
}

const client = createClient({
  url: HUB_URL.replace(/^http/, "ws") + "/graphql",
  webSocketImpl: WebSocket,
  lazy: true,
  retryAttempts: 5,
  retryWait: () => new Promise((resolve) => setTimeout(resolve, 100)),
  connectionParams: async () => ({ authorization: `Bearer ${await freshToken()}` }),
  on: {
    connected: () => say({ event: "connected" }),
    closed: (event) => say({ event: "closed", code: event.code, reason: event.reason }),
  },
});

client.subscribe(
  { query: "subscription { events { id type } }" },
  {
    next: (value) => say({ event: "next", data: value.data }),
    error: (error) => {
      say({ event: "gave up", code: error && error.code, reason: error && error.reason });
      client.dispose();
      process.exit(0);
    },
    complete: () => {
      say({ event: "complete" });
      process.exit(0);
    },
  },
);
