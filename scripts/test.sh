#!/usr/bin/env bash
# Runs every test of the repository. Installs what it needs itself:
# the pinned third-party test peers into ./.venv (scripts/peers.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RTWIRE_TEST_PYTHON="$root/.venv/bin/python"

step() { printf '\n== %s\n' "$*"; }

step "test peers"
./scripts/peers.sh

step "format"
cargo fmt --all -- --check

step "generated files match the option schema (rtwire-gen --check)"
cargo run -q --locked -p rtwire-gen -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "rust tests (unit, integration, doc, examples)"
cargo test --workspace --all-targets --locked --no-fail-fast
cargo test --workspace --doc --locked

step "Rust examples run against the python websockets peer"
coproc PEER { exec "$root/.venv/bin/python" "$root/tests/peers/ws_echo.py" --idle 120; }
read -r -t 30 line <&"${PEER[0]}" || { echo "the echo peer did not start"; exit 1; }
port=${line#PORT }
out=$(timeout 60 cargo run -q --locked -p rtwire --example echo -- "ws://127.0.0.1:$port/echo")
echo "$out"
kill "$PEER_PID" 2>/dev/null || true
grep -q '^text hello$' <<<"$out" && grep -q '^binary ' <<<"$out" && grep -q '^closed 1000 "done" clean=true$' <<<"$out" \
  || { echo "examples/rust/echo.rs did not print the expected echoes"; exit 1; }

step "Autobahn testsuite, CI set with permessage-deflate: rtwire serve --echo and rtwire autobahn-client (as tests/autobahn/expected.json)"
./scripts/autobahn.sh

step "docs build without warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "C ABI: header check, C/C++ tests and examples, valgrind, ASan+UBSan"
./scripts/test-c.sh

step "Python: build from source, stub check, pytest"
./scripts/test-python.sh

step "browser: the chat page in headless Chromium (Playwright for Python)"
./scripts/test-browser.sh

step "Node: npm install (builds the addon), types, node --test"
./scripts/test-node.sh

step "option, server option and error-kind parity: C, Python, Node, CLI"
cargo build -q --locked -p rtwire-cli -p rtwire-ffi
"$root/.venv/bin/python" tests/parity/parity.py --cli "$root/target/debug/rtwire" \
  --lib "$root/target/debug/librtwire.so" --node-dir "$root/bindings/node"

printf '\nall test steps passed\n'
