#!/usr/bin/env bash
# Regenerates include/rtwire.h from ffi/ with the pinned cbindgen.
#   ffi/gen-header.sh          rewrite include/rtwire.h
#   ffi/gen-header.sh --check  fail (exit 1, with a diff) if it is stale
# cbindgen is installed into ./.tools on first use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=0.29.4
tools="$root/.tools"
cbindgen="$tools/bin/cbindgen"
if ! [ -x "$cbindgen" ] || [ "$("$cbindgen" --version)" != "cbindgen $version" ]; then
  echo "== installing cbindgen $version into $tools" >&2
  cargo install cbindgen --version "=$version" --locked --root "$tools" --quiet
fi
out="$root/include/rtwire.h"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
(cd "$root/ffi" && "$cbindgen" --quiet --config cbindgen.toml --crate rtwire-ffi --output "$tmp")
if [ "${1:-}" = "--check" ]; then
  if ! diff -u "$out" "$tmp"; then
    echo "include/rtwire.h is stale: run ffi/gen-header.sh" >&2
    exit 1
  fi
  exit 0
fi
mkdir -p "$root/include"
cp "$tmp" "$out"
echo "wrote $out" >&2
