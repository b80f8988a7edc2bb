"""Connections run on the asyncio loop's own thread (the default): their
sockets are watched by the loop, the runtime's threads only do what is rare.
Checked against the python `websockets` peer and thread servers."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

import rtwire
from rtwire import client as rtwire_client

from conftest import run


def watched_fds(loop: asyncio.AbstractEventLoop) -> set:
    selector = getattr(loop, "_selector", None)
    if selector is None:
        pytest.skip("the loop has no selector to inspect (not a SelectorEventLoop)")
    return set(selector.get_map().keys())


def test_socket_is_watched_by_the_loop(echo_url: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        before = watched_fds(loop)
        conn = await rtwire.connect(echo_url, reconnect=False)
        bridge = rtwire_client._bridge(loop)
        assert bridge.notifier.hosting
        added = watched_fds(loop) - before - {bridge.notifier.fileno()}
        assert len(added) == 1, added
        fd = added.pop()
        # The watched descriptor is the connection's socket, to the peer.
        s = socket.socket(fileno=os.dup(fd))
        try:
            assert s.getpeername()[1] == int(echo_url.split(":")[2].split("/")[0])
        finally:
            s.close()
        assert bridge.notifier.tasks >= 1
        for i in range(200):
            await conn.send(f"m{i}")
            assert await conn.recv() == f"m{i}"
        await conn.close()
        await conn.wait_closed()
        # The socket is no longer watched and its task is over.
        for _ in range(100):
            if fd not in watched_fds(loop) and bridge.notifier.tasks == 0:
                break
            await asyncio.sleep(0.01)
        assert fd not in watched_fds(loop)
        assert bridge.notifier.tasks == 0

    run(main())


def test_large_messages_both_ways(echo_url: str) -> None:
    """16 MiB each way fills the socket buffers: writes wait for the loop's
    writability report, reads go through the read-ahead buffer."""
    payload = os.urandom(16 << 20)

    async def main() -> None:
        conn = await rtwire.connect(echo_url, reconnect=False, max_message_size=32 << 20)
        await conn.send(payload)
        await conn.send("after")
        assert await conn.recv() == payload
        assert await conn.recv() == "after"
        await conn.close()

    run(main(), timeout=60)


def test_cancelled_connect_leaves_no_task(thread_server: Any) -> None:
    """A server that accepts TCP but never answers the handshake: cancelling
    `connect` drops the attempt on the loop."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(rtwire.connect(f"ws://127.0.0.1:{port}/", reconnect=False))
        bridge = rtwire_client._bridge(loop)
        for _ in range(200):
            if bridge.notifier.tasks >= 1:
                break
            await asyncio.sleep(0.005)
        assert bridge.notifier.tasks >= 1
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            if bridge.notifier.tasks == 0:
                break
            await asyncio.sleep(0.005)
        assert bridge.notifier.tasks == 0

    try:
        run(main())
    finally:
        listener.close()


def test_loop_closed_with_a_connection_open(thread_server: Any) -> None:
    """The loop ends without `close`: once the loop is gone, its connections
    are dropped and the peer sees the TCP connection end."""
    ended = threading.Event()

    async def handler(ws: Any) -> None:
        try:
            async for m in ws:
                await ws.send(m)
        finally:
            ended.set()

    with thread_server(handler) as srv:
        holder: list = []

        async def main() -> None:
            conn = await rtwire.connect(f"ws://127.0.0.1:{srv.port}/", reconnect=False)
            await conn.send("hi")
            assert await conn.recv() == "hi"
            holder.append(conn)  # kept alive past the loop

        run(main())
        holder.clear()
        deadline = time.monotonic() + 10
        while not ended.is_set() and time.monotonic() < deadline:
            gc.collect()
            ended.wait(0.05)
        assert ended.is_set(), "the server never saw the connection end"


def test_runtime_threads_when_loop_io_is_off(echo_url: str) -> None:
    """RTWIRE_LOOP_IO=0: connections run on the runtime's threads instead."""
    code = (
        "import asyncio, sys, rtwire\n"
        "from rtwire import client\n"
        "async def main():\n"
        "    c = await rtwire.connect(sys.argv[1], reconnect=False)\n"
        "    assert not client._bridge(asyncio.get_running_loop()).notifier.hosting\n"
        "    for i in range(50):\n"
        "        await c.send(b'x' * i)\n"
        "        assert await c.recv() == b'x' * i\n"
        "    await c.close()\n"
        "    print('ok')\n"
        "asyncio.run(main())\n"
    )
    env = dict(os.environ, RTWIRE_LOOP_IO="0")
    out = subprocess.run(
        [sys.executable, "-c", code, echo_url], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
