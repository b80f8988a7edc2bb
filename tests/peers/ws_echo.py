"""WebSocket echo peer built on the third-party `websockets` library.

Listens on 127.0.0.1 (port 0 unless given), prints ``PORT <n>`` on stdout once
ready, and serves:

- ``/echo``            echoes every message unchanged (text as text, binary as binary)
- ``/headers``         sends one text message: the request headers as JSON, then echoes
- ``/extensions``      sends one text message: the negotiated extensions as JSON
                       (name and settings of each), then echoes
- ``/close?code=C&reason=R``  closes at once with that code and reason
- any path: the chosen subprotocol is the first of ``chat.v2``, ``chat.v1`` the client offered

Stops by itself when stdin closes or after ``--idle`` seconds without a connection.
"""

import argparse
import asyncio
import json
import sys
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve

SUPPORTED = ["chat.v2", "chat.v1"]


def select_subprotocol(connection, offered):
    for p in SUPPORTED:
        if p in offered:
            return p
    return None


async def handler(ws):
    url = urlsplit(ws.request.path)
    if url.path == "/close":
        q = parse_qs(url.query)
        await ws.close(int(q.get("code", ["1000"])[0]), q.get("reason", [""])[0])
        return
    if url.path == "/extensions":
        await ws.send(json.dumps([
            {"name": e.name, **{k: v for k, v in vars(e).items() if isinstance(v, (bool, int))}}
            for e in ws.protocol.extensions
        ]))
    if url.path == "/headers":
        await ws.send(json.dumps({k.lower(): v for k, v in ws.request.headers.raw_items()}))
    async for message in ws:
        await ws.send(message)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--idle", type=float, default=120.0)
    args = ap.parse_args()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def stdin_closed():
        if not stop.done():
            stop.set_result(None)

    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.buffer.read1(4096) or stdin_closed())
    async with serve(
        handler,
        "127.0.0.1",
        args.port,
        subprotocols=SUPPORTED,
        select_subprotocol=select_subprotocol,
        max_size=64 * 1024 * 1024,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        try:
            await asyncio.wait_for(stop, timeout=args.idle)
        except asyncio.TimeoutError:
            pass


if __name__ == "__main__":
    asyncio.run(main())
