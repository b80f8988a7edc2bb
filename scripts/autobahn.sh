#!/usr/bin/env bash
# The Autobahn testsuite (wstest) against rtwire, both ways, on 127.0.0.1:
#   - fuzzingclient: wstest drives `rtwire serve --echo` (the server);
#   - fuzzingserver: `rtwire autobahn-client` (the client) runs wstest's cases.
# wstest needs Python 2.7: it runs in a Debian 11 chroot made by the recipe
# in ../shared/autobahn (setup.sh, first time about 3 minutes, then a no-op).
#
#   scripts/autobahn.sh          # the CI set (295 cases: all but 9.*, and the first four
#                                # of each permessage-deflate group 12.*/13.*), debug build
#   scripts/autobahn.sh --full   # all 517 cases, release build (about 8 minutes a side)
#
# The server runs with --permessage-deflate; the client offers it by
# default. Fails when a case is not as tests/autobahn/expected.json says
# (scripts/autobahn_check.py): FAILED, UNIMPLEMENTED, or not OK unless listed.
# Reports: target/autobahn/{servers,clients}/index.html.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
recipe="${AUTOBAHN_RECIPE:-$root/../shared/autobahn}"
[ -f "$recipe/setup.sh" ] || { echo "no Autobahn recipe at $recipe" >&2; exit 1; }

# The CI set: all but 9.* (performance), and of the permessage-deflate
# cases 12.* and 13.* the first four of each group (the small messages).
mode=(--exclude "9.*,1[23].*.[5-9],1[23].*.1[0-9]")
set_name=ci
profile=debug
if [ "${1:-}" = "--full" ]; then
  mode=()
  set_name=full
  profile=release
fi

bash "$recipe/setup.sh"
if [ "$profile" = release ]; then
  cargo build -q --locked --release -p rtwire-cli
else
  cargo build -q --locked -p rtwire-cli
fi
bin="$root/target/$profile/rtwire"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
echo "== Autobahn fuzzingclient against rtwire serve --echo (${1:-ci set})"
bash "$recipe/fuzzingclient.sh" --url "ws://127.0.0.1:$port/echo" --agent rtwire \
  --outdir "$root/target/autobahn/servers" "${mode[@]}" --check --timeout 2400 \
  -- "$bin" serve --echo --permessage-deflate --bind "127.0.0.1:$port" --max-message-size 16777216 \
  > "$root/target/autobahn-servers.log" 2>&1 \
  || { tail -40 "$root/target/autobahn-servers.log"; exit 1; }
tail -4 "$root/target/autobahn-servers.log"
python3 "$root/scripts/autobahn_check.py" "$root/target/autobahn/servers/index.json" --set "$set_name"

port=$(free_port)
echo "== Autobahn fuzzingserver against rtwire autobahn-client (${1:-ci set})"
bash "$recipe/fuzzingserver.sh" --port "$port" --agent rtwire \
  --outdir "$root/target/autobahn/clients" "${mode[@]}" --check --timeout 2400 \
  -- "$bin" autobahn-client "ws://127.0.0.1:$port" --agent rtwire \
  > "$root/target/autobahn-clients.log" 2>&1 \
  || { tail -40 "$root/target/autobahn-clients.log"; exit 1; }
tail -4 "$root/target/autobahn-clients.log"
python3 "$root/scripts/autobahn_check.py" "$root/target/autobahn/clients/index.json" --set "$set_name"
