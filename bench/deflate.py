#!/usr/bin/env python3
"""permessage-deflate side by side: rtwire's server with and without it,
python `websockets` and Node `ws` with it, all driven by the same python
`websockets` client (which offers deflate, as browsers do).

    .venv/bin/python bench/deflate.py [--conns 300] [--secs 2]

Per server: server RSS per connection, idle and after one 64 KiB JSON
message echoed on each; 1 KB JSON round trips per second on
one connection; and a broadcast of 1 KB JSON messages to a room of
--members connections (1000), all with deflate: the server's CPU time per
broadcast message. rtwire compresses a broadcast once for all members
(no context takeover); `websockets` and `ws` compress it for each member.
Prints markdown tables. Needs the release CLI
(cargo build --release -p rtwire-cli) and the Node packages of
bindings/node (npm install there).
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import websockets
from websockets.asyncio.client import connect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peer_servers")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def servers(port: int):
    rtwire = os.path.join(ROOT, "target", "release", "rtwire")
    base = [rtwire, "serve", "--echo", "--quiet-publish", "--bind", f"127.0.0.1:{port}"]
    env1 = dict(os.environ, DEFLATE="1", RTWIRE_THREADS="1")
    return {
        "rtwire, deflate": (base + ["--permessage-deflate"], env1),
        "rtwire, no deflate": (base, env1),
        "websockets, deflate": ([sys.executable, os.path.join(PEERS, "websockets_echo.py"), str(port), "/echo"], env1),
        "ws, deflate": (["node", os.path.join(PEERS, "ws_echo.mjs"), str(port), "/echo"], env1),
    }


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def json_text(size: int) -> str:
    item = '{"id":%d,"user":"alice","text":"the quick brown fox jumps over the lazy dog"}'
    out, i = [], 0
    while sum(map(len, out)) < size:
        out.append(item % i)
        i += 1
    return ("[" + ",".join(out) + "]")[:size]


async def measure(url: str, pid: int, conns: int, secs: float) -> dict:
    big = json_text(64 << 10)
    small = json_text(1000)
    before = rss_kib(pid)
    clients = [await connect(url, max_size=None, ping_interval=None) for _ in range(conns)]
    await asyncio.sleep(0.5)
    idle = rss_kib(pid)
    ext = clients[0].response.headers.get("Sec-WebSocket-Extensions", "")
    for c in clients:
        await c.send(big)
    for c in clients:
        assert await c.recv() == big
    await asyncio.sleep(0.5)
    after = rss_kib(pid)
    # Round trips of a 1 KB JSON message on one connection.
    c = clients[0]
    n, end = 0, time.monotonic() + secs
    while time.monotonic() < end:
        await c.send(small)
        await c.recv()
        n += 1
    for c in clients:
        await c.close()
    return {
        "ext": ext,
        "idle": (idle - before) / conns,
        "after": (after - before) / conns,
        "rtt": n / secs,
    }


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def broadcast(url: str, pid: int, members: int, msgs: int) -> dict:
    """`msgs` broadcasts of a 1 KB JSON message to `members` connections
    (the sender is one of them): server CPU per message and per delivery."""
    clients = [await connect(url, max_size=None, ping_interval=None) for _ in range(members)]
    ext = clients[0].response.headers.get("Sec-WebSocket-Extensions", "")
    await asyncio.sleep(0.5)

    async def drain(c) -> None:
        for _ in range(msgs):
            await asyncio.wait_for(c.recv(), 60)

    readers = [asyncio.ensure_future(drain(c)) for c in clients]
    before = cpu_seconds(pid)
    for i in range(msgs):
        await clients[0].send(json_text(1000 - 8) + f"{i:08d}")
    await asyncio.gather(*readers)
    used = cpu_seconds(pid) - before
    for c in clients:
        await c.close()
    return {"ext": ext, "us_per_msg": used / msgs * 1e6, "us_per_delivery": used / (msgs * members) * 1e6}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=300)
    ap.add_argument("--secs", type=float, default=2.0)
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--broadcasts", type=int, default=100)
    a = ap.parse_args()
    rows, bc_rows = [], []
    for name, (cmd, env) in servers(0).items():
        for path in ("/echo", "/broadcast"):
            port = free_port()
            argv = [str(port) if x == "0" else path if x == "/echo" else x for x in cmd]
            argv = [x.replace("127.0.0.1:0", f"127.0.0.1:{port}") for x in argv]
            p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(100):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                        break
                    except OSError:
                        time.sleep(0.1)
                url = f"ws://127.0.0.1:{port}{path}"
                if path == "/echo":
                    r = await measure(url, p.pid, a.conns, a.secs)
                    rows.append((name, r))
                else:
                    r = await broadcast(url, p.pid, a.members, a.broadcasts)
                    bc_rows.append((name, r))
                print(f"{name} {path}: {json.dumps(r)}", file=sys.stderr)
            finally:
                p.kill()
                p.wait()
    print(f"\n| server | negotiated | KiB per idle connection | KiB per connection after one 64 KiB message | 1 KB JSON round trips/s |")
    print("|---|---|---|---|---|")
    for name, r in rows:
        ext = r["ext"] or "—"
        print(f"| {name} | `{ext}` | {r['idle']:.1f} | {r['after']:.1f} | {r['rtt']:.0f} |")

    print(f"\n| server | broadcast of 1 KB JSON to {a.members} members: server CPU per message (µs) | per delivery (µs) |")
    print("|---|---|---|")
    for name, b in bc_rows:
        print(f"| {name} | {b['us_per_msg']:.0f} | {b['us_per_delivery']:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
