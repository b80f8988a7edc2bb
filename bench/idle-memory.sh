#!/usr/bin/env bash
# Memory per idle rtwire WebSocket client connection, for N=1000 and
# N=10000 (or the counts given as arguments).
#
#   bench/idle-memory.sh            # N=1000 and N=10000
#   bench/idle-memory.sh 500 2000   # other counts
#
# Each connection takes one file descriptor in this process and one in the
# server child, so the open-files limit is raised first.
set -euo pipefail
cd "$(dirname "$0")/.."

want=65536
if ! ulimit -n "$want" 2>/dev/null; then
    hard=$(ulimit -Hn)
    if [ "$hard" != "unlimited" ] && ulimit -n "$hard" 2>/dev/null; then
        echo "note: cannot raise the open-files limit to $want; using the hard limit $hard" >&2
    else
        echo "note: cannot raise the open-files limit; staying at $(ulimit -n)" >&2
    fi
fi

counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000)
limit=$(ulimit -n)
for n in "${counts[@]}"; do
    if [ "$limit" != "unlimited" ] && [ "$n" -gt $((limit - 100)) ]; then
        echo "skip N=$n: needs about $n open files, the limit is $limit" >&2
        continue
    fi
    cargo bench -q -p rtwire --bench idle_memory -- "$n"
done
