#!/usr/bin/env python3
"""An asyncio chat client on rtwire.

Sends each line typed on stdin as a text message (prefixed with your name)
and prints every message that arrives, plus connection status lines on
stderr: open, reconnecting (it comes back by itself, and what you typed
meanwhile is sent once it is back), closed. When stdin ends it waits for
replies to stop coming for `--linger` seconds, then closes.

    python examples/python/chat.py ws://127.0.0.1:9001/echo --name alice
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import rtwire


async def read_lines(conn: rtwire.Connection, name: str, done: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        await conn.send(f"{name}: {line.rstrip()}")
    done.set()


async def show_events(conn: rtwire.Connection) -> None:
    async for event in conn.events():
        if isinstance(event, rtwire.MessageEvent):
            print(f"< {event.data!r}" if isinstance(event.data, bytes) else f"< {event.data}", flush=True)
        elif isinstance(event, rtwire.OpenEvent):
            proto = f" ({event.subprotocol})" if event.subprotocol else ""
            print(f"* connected to {event.url} via {event.transport}{proto}", file=sys.stderr)
        elif isinstance(event, rtwire.ReconnectingEvent):
            print(f"* lost ({event.error}); retry {event.attempt} in {event.delay:.1f} s", file=sys.stderr)
        elif isinstance(event, rtwire.ErrorEvent):
            print(f"* error: {event.error}", file=sys.stderr)
        elif isinstance(event, rtwire.ClosedEvent):
            print(f"* closed {event.code} {event.reason}".rstrip(), file=sys.stderr)


async def main() -> int:
    ap = argparse.ArgumentParser(description="rtwire chat client")
    ap.add_argument("url")
    ap.add_argument("--name", default="me")
    ap.add_argument("--linger", type=float, default=0.5, help="seconds to wait for replies after stdin ends")
    args = ap.parse_args()
    try:
        conn = await rtwire.connect(args.url, subprotocols=["chat.v1"])
    except rtwire.Error as e:
        print(f"chat: cannot connect: {e} ({e.kind})", file=sys.stderr)
        return 1
    done = asyncio.Event()
    reader = asyncio.ensure_future(show_events(conn))
    await read_lines(conn, args.name, done)
    # Stdin is over: linger for replies, then close and let the reader end.
    await asyncio.sleep(args.linger)
    await conn.close(1000, "bye")
    await reader
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
