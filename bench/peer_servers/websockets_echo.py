"""A python `websockets` server for bench/server_peers.sh:
``websockets_echo.py PORT PATH``. On 127.0.0.1:PORT, ``/echo`` sends every
message back; ``/broadcast`` sends every message to every client connected
(with ``websockets.broadcast``), the sender included. DEFLATE=1 turns
permessage-deflate on (websockets' defaults)."""

import asyncio
import os
import sys

import websockets
from websockets.asyncio.server import serve

MEMBERS: set = set()


async def echo(ws) -> None:
    async for message in ws:
        await ws.send(message)


async def broadcast(ws) -> None:
    MEMBERS.add(ws)
    try:
        async for message in ws:
            websockets.broadcast(MEMBERS, message)
    finally:
        MEMBERS.discard(ws)


async def main(port: int, path: str) -> None:
    handler = broadcast if path == "/broadcast" else echo
    async with serve(handler, "127.0.0.1", port, max_size=None, compression="deflate" if os.environ.get("DEFLATE") == "1" else None, ping_interval=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
