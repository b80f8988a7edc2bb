#!/usr/bin/env python3
"""A chat server with rooms and token authentication on rtwire, speaking
the chat protocol every rtwire chat example shares (examples/README.md).

    python examples/python/chat_server.py [PORT]

Clients open ``ws://127.0.0.1:PORT/chat?room=lobby&name=ada&token=s3cret``;
a browser opens ``http://127.0.0.1:PORT/`` (``examples/web/chat.html``)
(the token comes from ``CHAT_TOKEN``, default ``s3cret``; also accepted as
``Authorization: Bearer``). It prints ``PORT <n>`` once it listens and
serves until SIGTERM or Ctrl-C (300 s at most); clients get close 1001.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Optional, Tuple

import rtwire

TOKEN = os.environ.get("CHAT_TOKEN", "s3cret")
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web", "chat.html")
LIFETIME = 300.0


def check_token(request: rtwire.Request) -> Optional[Tuple[int, str]]:
    """``process_request``: ``None`` admits, ``(401, ...)`` refuses."""
    bearer = request.headers.get("authorization", "")
    if request.query_param("token") == TOKEN or bearer == f"Bearer {TOKEN}":
        return None
    return (401, "bad token")


async def chat(conn: rtwire.ServerConnection) -> None:
    room = conn.request.query_param("room") or "lobby"
    name = conn.request.query_param("name") or "anon"
    server = conn.server

    def say(line: str) -> None:
        # To the rest of the room, and into the room's log channel (history
        # for SSE and long-poll readers; a room that is no valid channel
        # name has no log).
        server.broadcast(room, line, exclude=conn)
        if server.closed:
            return  # shutting down: the log is gone with the server
        try:
            server.publish(f"log-{room}", line)
        except rtwire.InvalidArgumentError:
            pass

    conn.join(room)
    await conn.send(f"welcome {name} to {room}")
    say(f"{name} joined")
    try:
        async for message in conn:
            if message == "/who":
                await conn.send(f"members {room}: {len(server.members(room))}")
            elif isinstance(message, str):
                say(f"{name}: {message}")
    finally:
        conn.leave(room)
        say(f"{name} left")


async def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
    with open(PAGE, "rb") as f:
        page = f.read()
    async with rtwire.serve(
        chat,
        "127.0.0.1",
        port,
        path="/chat",
        process_request=check_token,
        cors=True,
        # Compress WebSocket messages of 128 bytes or more for clients that
        # offer permessage-deflate (browsers and rtwire clients do).
        permessage_deflate=True,
        pages={"/": ("text/html; charset=utf-8", page)},
    ) as server:
        print(f"PORT {server.port}", flush=True)
        try:
            await asyncio.wait_for(stop, LIFETIME)
        except (asyncio.CancelledError, asyncio.TimeoutError):
            pass


if __name__ == "__main__":
    asyncio.run(main())
