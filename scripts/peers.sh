#!/usr/bin/env bash
# Installs the third-party test peers into ./.venv (idempotent, pinned).
# Prints nothing when they are already installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
req="$root/scripts/requirements-peers.txt"
stamp="$venv/.peers-stamp"
if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
echo "== installing test peers into $venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$stamp"
