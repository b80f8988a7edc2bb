#!/usr/bin/env bash
# WebSocket servers side by side: rtwire's Rust, Python and Node servers,
# fastwebsockets, tokio-tungstenite (plain and with write coalescing), Node
# `ws`, python `websockets` and picows, all driven by the same load client
# (bench/load_client.rs) on 127.0.0.1. Prints one markdown table of medians
# with each figure's ratio to rtwire's Rust server.
#
#   bench/server_peers.sh [--quick]
#   SERVERS="rtwire fastwebsockets" bench/server_peers.sh --quick   # only these
#
# The server and the client share one CPU (taskset -c 0): on an otherwise
# idle machine a 64 B round trip between two cores is bound by how fast an
# idle core wakes (about 90 us here, for every server alike), and on a busy
# one by where the scheduler happens to put the two processes. On one CPU
# every figure is what the server's work costs next to the same client's,
# and a multi-threaded server gets no core the others do not.
#
# Every server is started here as `<server> PORT PATH` (PATH /echo, or
# /broadcast for the broadcast runs; `rtwire serve --echo` serves both) and
# killed when the script exits. Needs the release builds of the bindings:
# (cd bindings/python && ../../.venv/bin/maturin develop --release) and
# (cd bindings/node && npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--quick" ]; then
    rounds=3 secs=1 bc_small=100 bc_large=10 bc_rounds=3
else
    rounds=5 secs=2 bc_small=1000 bc_large=100 bc_rounds=5
fi
idle_n=10000

# Each idle connection is a file descriptor in the server and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
limit=$(ulimit -n)
if [ "$limit" != unlimited ] && [ "$idle_n" -gt $((limit - 200)) ]; then
    idle_n=$((limit - 200))
    echo "note: open-files limit $limit: $idle_n idle connections instead of 10000" >&2
fi
big_n=10000
[ "$big_n" -le "$idle_n" ] || big_n=$idle_n

cargo build --quiet --release -p rtwire-cli
cargo build --quiet --release -p rtwire --example bench_load_client \
    --example bench_peer_tungstenite --example bench_peer_fastws
pin=()
if command -v taskset >/dev/null; then
    pin=(taskset -c 0)
else
    echo "note: no taskset: server and client are not pinned, figures vary more" >&2
fi
bin=target/release
client=$bin/examples/bench_load_client
py=.venv/bin/python
peers=bench/peer_servers

if [ "$("$py" -c 'import rtwire; print(rtwire._rtwire.BUILD_PROFILE)')" != release ]; then
    echo "warning: rtwire's Python package is a debug build (maturin develop --release)" >&2
fi

servers=(rtwire rtwire-py rtwire-node fastwebsockets tungstenite tungstenite-coalescing ws websockets)
if "$py" -c 'import picows' 2>/dev/null; then
    servers+=(picows)
else
    echo "note: picows is not installed in .venv: skipped" >&2
fi
if [ -n "${SERVERS:-}" ]; then
    read -r -a servers <<<"$SERVERS"
fi
# The servers with a /broadcast path.
broadcasters=" rtwire rtwire-py rtwire-node ws websockets picows "

# Replaces this (sub)shell by server $1 on port $2 serving path $3.
launch() {
    case $1 in
        rtwire) RTWIRE_THREADS=1 exec "$bin/rtwire" serve --echo --quiet-publish --bind "127.0.0.1:$2" \
            --max-message-size $((64 << 20)) ;;
        rtwire-py) exec "$py" "$peers/rtwire_echo.py" "$2" "$3" ;;
        rtwire-node) exec node "$peers/rtwire_echo.mjs" "$2" "$3" ;;
        fastwebsockets) exec "$bin/examples/bench_peer_fastws" "$2" "$3" ;;
        tungstenite) exec "$bin/examples/bench_peer_tungstenite" "$2" "$3" --plain ;;
        tungstenite-coalescing) exec "$bin/examples/bench_peer_tungstenite" "$2" "$3" ;;
        ws) exec node "$peers/ws_echo.mjs" "$2" "$3" ;;
        websockets) exec "$py" "$peers/websockets_echo.py" "$2" "$3" ;;
        picows) exec "$py" "$peers/picows_echo.py" "$2" "$3" ;;
    esac
}

logs=$(mktemp -d)
pid=""
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
    fi
}
trap 'stop; rm -rf "$logs"' EXIT
trap 'exit 130' INT TERM

# Starts server $1 for path $2; sets pid and url once it accepts (10 s at most).
start() {
    local port
    port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (launch "$1" "$port" "$2") >>"$logs/$1.log" 2>&1 &
    pid=$!
    [ ${#pin[@]} -eq 0 ] || taskset -a -p -c 0 "$pid" >/dev/null
    url="ws://127.0.0.1:$port$2"
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "$1 did not start: $(tail -3 "$logs/$1.log")" >&2
    return 1
}

# Runs the load client (5 minutes at most) and prints its output; a failure
# is reported and leaves nothing.
load() {
    timeout 300 "${pin[@]}" "$client" "$@" 2>>"$logs/client.log" || echo "  failed: bench_load_client $1 ($(tail -1 "$logs/client.log"))" >&2
}

declare -A res
for s in "${servers[@]}"; do
    echo "== $s" >&2
    if start "$s" /echo; then
        while read -r key value _; do res[$s,$key]=$value; done < <(load echo "$url" "$rounds" "$secs")
        stop
    fi
    if start "$s" /echo; then
        while read -r key value _; do res[$s,$key]=$value; done < <(load idle "$url" "$idle_n" "$pid")
        stop
    fi
    if [[ $broadcasters == *" $s "* ]] && start "$s" /broadcast; then
        read -r _ value < <(load broadcast "$url" 1000 "$bc_small" "$bc_rounds") && res[$s,bc1k]=$value
        read -r _ value < <(load broadcast "$url" "$big_n" "$bc_large" "$bc_rounds") && res[$s,bc10k]=$value
        stop
    fi
done

# value (ratio to rtwire's), or — when not measured.
cell() {
    local v=${res[$1,$2]:-} r=${res[rtwire,$2]:-}
    if [ -z "$v" ]; then printf ' — |'; return; fi
    if [ -n "$r" ] && [ "$1" != rtwire ]; then
        printf ' %s (%s) |' "$v" "$(awk -v a="$v" -v b="$r" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
    else
        printf ' %s |' "$v"
    fi
}

echo
echo "Medians; in parentheses the ratio of the figure to rtwire's Rust server's (for idle KiB lower is better)."
echo
echo "| server | ping-pong 64 B (round trips/s) | pipelined 64 B, 1000 in flight (msg/s) | echo 16 MiB (MB/s) | idle: server RSS per connection, N=$idle_n (KiB) | broadcast, 1000 members (deliveries/s) | broadcast, $big_n members (deliveries/s) |"
echo "|---|---|---|---|---|---|---|"
for s in "${servers[@]}"; do
    printf '| %s |' "$s"
    for k in pingpong pipelined big idle bc1k bc10k; do cell "$s" "$k"; done
    echo
done
