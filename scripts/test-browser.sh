#!/usr/bin/env bash
# Runs the chat example in a real browser (tests/browser): Debian's Chromium,
# headless, driven by Playwright for Python, against
# examples/python/chat_server.py and the page examples/web/chat.html.
# Installs what it needs: chromium (apt), a pinned playwright into ./.venv
# (its wheel ships the driver; the browser is Debian's, never a download of
# Playwright's own), and the Python binding (maturin develop, as
# scripts/test-python.sh does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py="$root/.venv/bin/python"
playwright_version=1.65.2

step() { printf '\n== %s\n' "$*"; }

step "test peers and Python tools"
./scripts/peers.sh

if [ ! -x /usr/bin/chromium ]; then
  step "install chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y chromium; then
    apt-get update
    apt-get install -y chromium
  fi
fi

if [ "$("$py" -c 'import importlib.metadata as m; print(m.version("playwright"))' 2>/dev/null || true)" != "$playwright_version" ]; then
  step "install playwright $playwright_version into .venv"
  "$py" -m pip install --quiet --disable-pip-version-check "playwright==$playwright_version"
fi

step "build and install bindings/python (maturin develop)"
(cd bindings/python && VIRTUAL_ENV="$root/.venv" "$root/.venv/bin/maturin" develop --quiet)

step "pytest tests/browser ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
"$py" -m pytest -q -p no:cacheprovider tests/browser "$@"
