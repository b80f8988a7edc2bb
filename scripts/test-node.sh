#!/usr/bin/env bash
# Tests of the Node package (bindings/node): installs it with `npm install`
# (the committed package-lock.json pins every version; `npm ci` refuses it
# because npm leaves other platforms' optional packages out of it), which
# builds the native addon from source (napi-rs, release profile, into the
# workspace's target dir), then checks the types and runs `node --test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/bindings/node"
cd "$pkg"

step() { printf '\n== %s\n' "$*"; }

step "npm install (builds the addon)"
npm install --no-audit --no-fund

step "generated bindings are up to date (binding.d.ts, binding.js)"
if git -C "$root" ls-files --error-unmatch bindings/node/binding.d.ts >/dev/null 2>&1; then
    git -C "$root" diff --exit-code -- bindings/node/binding.d.ts bindings/node/binding.js
else
    echo "binding.d.ts is not tracked yet: nothing to compare"
fi

step "tsc --noEmit on the typed usage file"
npx --no-install tsc --noEmit -p test/types

step "the Rust chat server example (started by test/chat-servers.test.js)"
(cd "$root" && cargo build -q --locked -p rtwire --example chat_server)

step "node --test"
node --test --test-concurrency=1 --test-reporter=tap test/

step "the chat protocol checker (tests/chat/chat_check.py, python websockets) against the Node chat server"
mkdir -p "$root/examples/node/node_modules"
[ -e "$root/examples/node/node_modules/rtwire" ] || ln -s "$pkg" "$root/examples/node/node_modules/rtwire"
"$root/.venv/bin/python" "$root/tests/chat/chat_check.py" --cwd "$root/examples/node" -- node chat-server.js
