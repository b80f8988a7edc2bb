#!/usr/bin/env bash
# Builds the Python binding from source into ./.venv and runs its checks:
# mypy stubtest (the .pyi stubs against the module) and pytest
# (bindings/python/tests, which also run examples/python).
# The build reuses the workspace's cargo target dir (dev profile), so an
# unchanged tree rebuilds nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py="$root/.venv/bin/python"

step() { printf '\n== %s\n' "$*"; }

step "test peers and Python tools"
./scripts/peers.sh

step "build and install bindings/python (maturin develop)"
(cd bindings/python && VIRTUAL_ENV="$root/.venv" "$root/.venv/bin/maturin" develop --quiet)

step "stubs: mypy stubtest rtwire"
"$py" -m mypy.stubtest rtwire
"$py" -m mypy --strict bindings/python/python/rtwire examples/python

step "pytest bindings/python/tests"
"$py" -m pytest -q -p no:cacheprovider bindings/python/tests "$@"
