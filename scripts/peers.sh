#!/usr/bin/env bash
# Installs the third-party test peers (idempotent, pinned): Python ones into
# ./.venv, Node ones into tests/peers/node/node_modules, and curl.
# Prints nothing when they are already installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
req="$root/scripts/requirements-peers.txt"
stamp="$venv/.peers-stamp"
if ! { [ -f "$stamp" ] && cmp -s "$req" "$stamp"; }; then
  echo "== installing test peers into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

# Node peers (ws, eventsource, engine.io-client, engine.io-parser, socket.io-parser), pinned by tests/peers/node/package-lock.json.
node_dir="$root/tests/peers/node"
node_stamp="$node_dir/node_modules/.peers-stamp"
if ! { [ -f "$node_stamp" ] && cmp -s "$node_dir/package-lock.json" "$node_stamp"; }; then
  echo "== installing node test peers into $node_dir/node_modules"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$node_dir/package-lock.json" "$node_stamp"
fi

# curl, for the plain-HTTP peer tests.
if ! command -v curl >/dev/null 2>&1; then
  echo "== installing curl"
  apt-get update && apt-get install -y curl
fi
