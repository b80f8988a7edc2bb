#!/usr/bin/env bash
# The embedded server under load: broadcast fan-out to N=100 and N=1000
# WebSocket clients, and memory per idle server connection for N=10000
# (or the counts given: bench/server.sh 2000 5000 for the memory runs).
#
# Each idle connection takes one file descriptor in the server child and one
# in the client process, so the open-files limit is raised first.
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

cargo bench -q -p rtwire --bench server_fanout -- fanout 100 1000

counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10000)
limit=$(ulimit -n)
for n in "${counts[@]}"; do
    if [ "$limit" != "unlimited" ] && [ "$n" -gt $((limit - 100)) ]; then
        echo "skip memory N=$n: needs about $n open files per process, the limit is $limit" >&2
        continue
    fi
    cargo bench -q -p rtwire --bench server_fanout -- memory "$n"
done
