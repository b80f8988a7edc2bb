"""proxy=: an HTTP CONNECT proxy (a few lines of asyncio) in a thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List

import rtwire
from conftest import run


class ConnectProxy:
    def __init__(self) -> None:
        self.requests: List[str] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        finally:
            w.close()

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = (await r.readuntil(b"\r\n\r\n")).decode()
        line = head.split("\r\n")[0]
        self.requests.append(line)
        host, port = line.split()[1].rsplit(":", 1)
        ur, uw = await asyncio.open_connection(host, int(port))
        w.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(self._pipe(r, uw), self._pipe(ur, w), return_exceptions=True)

    def _run(self) -> None:
        async def main() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            self._stop = self.loop.create_future()
            self._ready.set()
            async with server:
                await asyncio.wait_for(self._stop, 60)

        self.loop.run_until_complete(main())

    def __enter__(self) -> "ConnectProxy":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))
        self._thread.join(10)


def test_http_connect_proxy(echo_port: int) -> None:
    with ConnectProxy() as proxy:

        async def main() -> None:
            async with rtwire.connect(
                f"ws://127.0.0.1:{echo_port}/echo", proxy=f"http://127.0.0.1:{proxy.port}"
            ) as conn:
                await conn.send("via proxy")
                assert await conn.recv() == "via proxy"

        run(main())
        with rtwire.sync.connect(f"ws://127.0.0.1:{echo_port}/echo", proxy=f"http://127.0.0.1:{proxy.port}") as c:
            c.send(b"sync")
            assert c.recv(timeout=5) == b"sync"
    assert proxy.requests == [f"CONNECT 127.0.0.1:{echo_port} HTTP/1.1"] * 2


def test_proxy_none_is_direct(echo_url: str) -> None:
    with rtwire.sync.connect(echo_url, proxy=None) as c:
        c.send("direct")
        assert c.recv(timeout=5) == "direct"
