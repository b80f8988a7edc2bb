#!/usr/bin/env bash
# Tests of the C ABI (ffi/, include/rtwire.h, examples/c, examples/cpp):
#  1. builds ffi once (debug, shared target dir) and installs it into a
#     temporary prefix with scripts/install-c.sh (checks pkg-config);
#  2. regenerates include/rtwire.h with the pinned cbindgen and fails on any
#     difference;
#  3. compiles the C tests and examples with -Wall -Wextra -Wpedantic -Werror
#     (C11 / C++17), shared and static;
#  4. runs them against the third-party python `websockets` echo peer and
#     the `sse-starlette` SSE peer (examples/c/server.c and the server tests
#     use the embedded server);
#  5. runs them again under valgrind memcheck (errors and leaks fail) and
#     built with -fsanitize=address,undefined;
#  6. checks the C and C++ chat servers (examples/c/chat_server.c,
#     examples/cpp/chat_server.cpp) against the chat protocol with
#     tests/chat/chat_check.py (python `websockets` client), the C one also
#     under valgrind and ASan (scripts/test-node.sh runs the same checker
#     against the Node chat server).
# Prints "N passed, N failed" last and exits non-zero on any failure.
# Installs what is missing: the test peers (.venv), cbindgen (.tools), and
# gcc/g++/pkg-config/valgrind with apt-get when absent.
set -uo pipefail
# No pathname expansion: URLs with `?` are passed through unquoted expansions.
set -f
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
work=$(mktemp -d "${TMPDIR:-/tmp}/rtwire-c.XXXXXX")
passed=0
failed=0
peer_pid=
sse_pid=

cleanup() {
  if [ -n "${peer_pid}" ]; then
    exec {peer_in}>&- 2>/dev/null || true
    kill "$peer_pid" 2>/dev/null || true
    wait "$peer_pid" 2>/dev/null || true
  fi
  if [ -n "${sse_pid}" ]; then
    exec {sse_in}>&- 2>/dev/null || true
    kill "$sse_pid" 2>/dev/null || true
    wait "$sse_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# run NAME CMD...: runs a step with a time limit, logs it, counts it.
run() {
  local name=$1
  shift
  local log="$work/log.$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')"
  if timeout 300 "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'ok    %s\n' "$name"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$name"
    tail -n 40 "$log" | sed 's/^/      /'
  fi
}

summary() {
  echo
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# Tools: install only what is missing.
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v g++ >/dev/null || missing+=(g++)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== test peers"
./scripts/peers.sh || { failed=$((failed + 1)); summary; }

echo "== build"
run "cargo build -p rtwire-ffi" cargo build -p rtwire-ffi --quiet
[ "$failed" -eq 0 ] || summary
run "header is up to date (pinned cbindgen)" ./ffi/gen-header.sh --check

prefix="$work/prefix"
run "install (scripts/install-c.sh)" env PREFIX="$prefix" PROFILE=debug NO_BUILD=1 ./scripts/install-c.sh
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
run "pkg-config finds rtwire" pkg-config --exists --print-errors rtwire
pc_cflags=$(pkg-config --cflags rtwire 2>/dev/null)
pc_libs=$(pkg-config --libs rtwire 2>/dev/null)
rpath="-Wl,-rpath,$prefix/lib"
cwarn="-std=c11 -Wall -Wextra -Wpedantic -Werror -g"
cxxwarn="-std=c++17 -Wall -Wextra -Wpedantic -Werror -g"

# Sources: name, language, file.
programs=(
  "test_api c ffi/tests/c/test_api.c"
  "test_threads c ffi/tests/c/test_threads.c"
  "echo c examples/c/echo.c"
  "poll_loop c examples/c/poll_loop.c"
  "sse_listen c examples/c/sse_listen.c"
  "test_app c ffi/tests/c/test_app.c"
  "server c examples/c/server.c"
  "chat cpp examples/cpp/chat.cpp"
  "chat_server c examples/c/chat_server.c"
  "chat_server_cpp cpp examples/cpp/chat_server.cpp"
)

build() { # variant extra-flags...
  local variant=$1
  shift
  mkdir -p "$work/$variant"
  for p in "${programs[@]}"; do
    set -- $p "$@"
    local name=$1 lang=$2 src=$3
    shift 3
    if [ "$lang" = c ]; then
      run "compile $name ($variant)" gcc $cwarn "$@" -pthread -Iffi/tests/c $pc_cflags "$src" \
        -o "$work/$variant/$name" $pc_libs $rpath
    else
      run "compile $name ($variant)" g++ $cxxwarn "$@" -pthread $pc_cflags -I"$root/include" "$src" \
        -o "$work/$variant/$name" $pc_libs $rpath
    fi
  done
}

echo "== compile"
build plain
build asan -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
mkdir -p "$work/static"
run "compile echo (static library)" gcc $cwarn $pc_cflags examples/c/echo.c -o "$work/static/echo" \
  -L"$prefix/lib" -l:librtwire.a $(pkg-config --static --libs-only-l rtwire | sed 's/-lrtwire//')

echo "== start the python websockets echo peer"
coproc PEER { exec "$root/.venv/bin/python" "$root/tests/peers/ws_echo.py" --idle 600 2>"$work/peer.log"; }
peer_pid=$PEER_PID
peer_in=${PEER[1]}
port=
if read -r -t 30 line <&"${PEER[0]}"; then
  port=${line#PORT }
fi
if [ -z "$port" ]; then
  echo "the echo peer did not start"
  cat "$work/peer.log"
  failed=$((failed + 1))
  summary
fi
url="ws://127.0.0.1:$port/echo"

echo "== start the python sse-starlette peer"
# Its stdin is a FIFO held open here: the peer stops when it closes.
mkfifo "$work/sse.in"
"$root/.venv/bin/python" "$root/tests/peers/sse_server.py" --idle 600 \
  <"$work/sse.in" >"$work/sse.out" 2>"$work/sse.log" &
sse_pid=$!
exec {sse_in}>"$work/sse.in"
sse_port=
for _ in $(seq 300); do
  line=$(head -n 1 "$work/sse.out" 2>/dev/null)
  if [ -n "$line" ]; then
    sse_port=${line#PORT }
    break
  fi
  sleep 0.1
done
if [ -z "$sse_port" ]; then
  echo "the SSE peer did not start"
  cat "$work/sse.log"
  failed=$((failed + 1))
  summary
fi
# Ends the stream every 2 events and resumes from Last-Event-ID: the
# example must see ids 1..6, in order, across the reconnects.
sse_url="http://127.0.0.1:$sse_port/events?total=6&per_conn=2"

args_for() {
  case $1 in
    test_app) ;;
    test_*) echo "$port" ;;
    sse_listen) echo "$sse_url 6" ;;
    server) ;;
    *) echo "$url" ;;
  esac
}

# The chat servers are run by the chat checker below, not here.
is_server() { case $1 in chat_server*) return 0 ;; esac; return 1; }

echo "== run"
for p in "${programs[@]}"; do
  set -- $p
  is_server "$1" && continue
  [ -x "$work/plain/$1" ] && run "run $1" "$work/plain/$1" $(args_for "$1") </dev/null
done
[ -x "$work/static/echo" ] && run "run echo (static library)" "$work/static/echo" "$url"

vg=(valgrind -q --error-exitcode=99 --leak-check=full
  --errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible)

echo "== valgrind memcheck"
for p in "${programs[@]}"; do
  set -- $p
  is_server "$1" && continue
  [ -x "$work/plain/$1" ] && run "valgrind $1" valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible \
    "$work/plain/$1" $(args_for "$1") </dev/null
done

echo "== AddressSanitizer + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for p in "${programs[@]}"; do
  set -- $p
  is_server "$1" && continue
  [ -x "$work/asan/$1" ] && run "asan+ubsan $1" "$work/asan/$1" $(args_for "$1") </dev/null
done

echo "== chat servers (tests/chat/chat_check.py)"
check=("$root/.venv/bin/python" "$root/tests/chat/chat_check.py")
[ -x "$work/plain/chat_server" ] && run "chat protocol: C chat server" "${check[@]}" -- "$work/plain/chat_server"
[ -x "$work/plain/chat_server_cpp" ] && run "chat protocol: C++ chat server" "${check[@]}" -- "$work/plain/chat_server_cpp"
[ -x "$work/plain/chat_server" ] && run "chat protocol: C chat server under valgrind" "${check[@]}" -- "${vg[@]}" "$work/plain/chat_server"
[ -x "$work/asan/chat_server" ] && run "chat protocol: C chat server (asan+ubsan)" "${check[@]}" -- "$work/asan/chat_server"
[ -x "$work/asan/chat_server_cpp" ] && run "chat protocol: C++ chat server (asan+ubsan)" "${check[@]}" -- "$work/asan/chat_server_cpp"
summary
