#!/usr/bin/env bash
# The hub behind a federation gateway (issue: "at home behind a federation gateway").
# Installs Hive Gateway and Mesh Compose from npm into a temporary directory, composes the
# hub with a small partner subgraph (.ci/partner_subgraph.py) and runs a query, a join, a
# mutation and a subscription through the gateway with the caller's token forwarded
# (.ci/gateway_check.py). Needs node and npm; run from the repo root after the venv exists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

HIVE_GATEWAY_VERSION=2.15.1
MESH_COMPOSE_VERSION=1.8.2

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    if [ -n "${CI:-}" ] || [ "$(id -u)" = 0 ]; then
        apt-get update -q </dev/null
        apt-get install -y -q nodejs npm </dev/null
    else
        echo "ERROR: the gateway check needs node and npm" >&2
        exit 1
    fi
fi

# Hive Gateway needs Node.js 20 or newer (Debian 12's own nodejs package is 18).
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "ERROR: Hive Gateway needs Node.js >= 20, found $(node --version)" >&2
    exit 1
fi

npm_dir="$(mktemp -d)"
trap 'rm -rf "$npm_dir"' EXIT
(
    cd "$npm_dir"
    npm init -y >/dev/null
    npm install --no-audit --no-fund --loglevel=error \
        "@graphql-hive/gateway@${HIVE_GATEWAY_VERSION}" \
        "@graphql-mesh/compose-cli@${MESH_COMPOSE_VERSION}" </dev/null
)
.venv/bin/python .ci/gateway_check.py "$npm_dir" </dev/null
