#!/usr/bin/env python3
"""Python WebSocket client benchmark: rtwire vs `websockets` (and `picows`
when it is installed), all against the same echo server in a subprocess on
127.0.0.1: by default a native one (bench/echo_server.rs, bare
tokio-tungstenite on one thread, built here with cargo), so that the clients
are what is measured; `--server python` uses a python `websockets` echo
server (tests/peers/ws_echo.py) instead, which is slower than the clients
and so mostly measures itself.

Measures, per client, one connection each:
- ping-pong: 64 B binary message sent, echo awaited, repeated (round trips/s)
- echo throughput: 1 MiB binary message sent, echo awaited, repeated (MiB/s)

and prints the ratios rtwire / other (above 1: rtwire is faster).

Run after a release build of the binding:
    (cd bindings/python && ../../.venv/bin/maturin develop --release)
    .venv/bin/python bench/python_ws.py [--seconds 2] [--rounds 3] [--server native|python]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Awaitable, Callable, Dict, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "tests", "peers", "ws_echo.py")
SMALL = b"x" * 64
LARGE = os.urandom(1 << 20)


class Client:
    """send(bytes) then recv() -> bytes over one open connection."""

    async def open(self, url: str) -> None: ...
    async def roundtrip(self, data: bytes) -> int: ...
    async def close(self) -> None: ...


class RtwireClient(Client):
    async def open(self, url: str) -> None:
        import rtwire

        self.conn = await rtwire.connect(url, reconnect=False)

    async def roundtrip(self, data: bytes) -> int:
        await self.conn.send(data)
        return len(await self.conn.recv())

    async def close(self) -> None:
        await self.conn.close()


class WebsocketsClient(Client):
    async def open(self, url: str) -> None:
        from websockets.asyncio.client import connect

        self.conn = await connect(url, max_size=None, compression=None, ping_interval=None)

    async def roundtrip(self, data: bytes) -> int:
        await self.conn.send(data)
        return len(await self.conn.recv())

    async def close(self) -> None:
        await self.conn.close()


class PicowsClient(Client):
    async def open(self, url: str) -> None:
        from picows import WSListener, WSMsgType, ws_connect

        client = self

        class Listener(WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport, frame):  # type: ignore[no-untyped-def]
                if frame.msg_type in (WSMsgType.BINARY, WSMsgType.CONTINUATION):
                    client.parts.append(frame.get_payload_as_bytes())
                    if frame.fin:
                        client.waiter.set_result(b"".join(client.parts))

        self.parts: list = []
        self.binary = WSMsgType.BINARY
        self.transport, _ = await ws_connect(Listener, url, max_frame_size=8 << 20)

    async def roundtrip(self, data: bytes) -> int:
        self.parts = []
        self.waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.transport.send(self.binary, data)
        return len(await self.waiter)

    async def close(self) -> None:
        from picows import WSCloseCode

        self.transport.send_close(WSCloseCode.OK)
        self.transport.disconnect()


async def measure(client: Client, url: str, data: bytes, seconds: float) -> float:
    """Round trips per second over `seconds` (after a short warm-up)."""
    await client.open(url)
    try:
        for _ in range(20):
            assert await client.roundtrip(data) == len(data)
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            assert await client.roundtrip(data) == len(data)
            n += 1
            if n % 16 == 0 and time.perf_counter() >= deadline:
                break
        return n / (time.perf_counter() - start)
    finally:
        await client.close()


def native_server() -> list:
    """Builds bench/echo_server.rs (release) and returns its command line."""
    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "-p", "rtwire", "--example", "bench_echo_server"],
        cwd=ROOT,
        check=True,
    )
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    target = json.loads(meta.stdout)["target_directory"]
    return [os.path.join(target, "release", "examples", "bench_echo_server")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds, best kept (default 3)")
    ap.add_argument(
        "--server", choices=("native", "python"), default="native", help="the echo server (default native)"
    )
    args = ap.parse_args()

    import rtwire

    if rtwire._rtwire.BUILD_PROFILE != "release":
        print("warning: rtwire is a debug build; run `maturin develop --release` first", file=sys.stderr)
    clients: Dict[str, Callable[[], Client]] = {"rtwire": RtwireClient, "websockets": WebsocketsClient}
    try:
        import picows  # noqa: F401

        clients["picows"] = PicowsClient
    except ImportError:
        print("picows not installed: skipped", file=sys.stderr)

    cmd = native_server() if args.server == "native" else [sys.executable, PEER, "--idle", "600"]
    print(f"server: {args.server} ({os.path.basename(cmd[-1] if args.server == 'python' else cmd[0])})", flush=True)
    server = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("PORT "):
            print("the echo server did not start", file=sys.stderr)
            return 1
        url = f"ws://127.0.0.1:{int(line.split()[1])}/echo"
        # Interleaved rounds, best of each: the machine's other load varies.
        results: Dict[str, Dict[str, float]] = {n: {"pingpong": 0.0, "mib_s": 0.0} for n in clients}
        # The order rotates from round to round, so that no client always
        # runs right after the same other one.
        order = list(clients.items())
        for r in range(args.rounds):
            k = r % len(order)
            for name, make in order[k:] + order[:k]:
                pp = asyncio.run(measure(make(), url, SMALL, args.seconds))
                big = asyncio.run(measure(make(), url, LARGE, args.seconds))
                r = results[name]
                r["pingpong"] = max(r["pingpong"], pp)
                r["mib_s"] = max(r["mib_s"], big * len(LARGE) / (1 << 20))
        for name, r in results.items():
            print(
                f"{name:11s} ping-pong 64 B: {r['pingpong']:9.0f} round trips/s   "
                f"echo 1 MiB: {r['mib_s']:7.1f} MiB/s",
                flush=True,
            )
        me = results["rtwire"]
        for name, r in results.items():
            if name == "rtwire":
                continue
            print(
                f"ratio rtwire/{name}: ping-pong {me['pingpong'] / r['pingpong']:.2f}x, "
                f"1 MiB echo {me['mib_s'] / r['mib_s']:.2f}x"
            )
        return 0
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
