"""Test servers: the python `websockets` echo peer (tests/peers/ws_echo.py)
and the `sse-starlette` peer (tests/peers/sse_server.py) in subprocesses,
and small `websockets` servers in a thread for the cases the peers do not
cover (TLS, refused handshakes, dropped connections). Everything listens on
127.0.0.1 and stops at the end of its fixture."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from typing import Any, Awaitable, Callable, Iterator, Optional

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PEER = os.path.join(ROOT, "tests", "peers", "ws_echo.py")
SSE_PEER = os.path.join(ROOT, "tests", "peers", "sse_server.py")


@contextlib.contextmanager
def peer_process(script: str) -> Iterator[int]:
    """Runs a peer that prints ``PORT n`` once listening and stops when its
    stdin closes (or after its idle limit); yields the port."""
    proc = subprocess.Popen(
        [sys.executable, script, "--idle", "600"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("PORT "), f"{script} did not start: {line!r}"
        yield int(line.split()[1])
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def echo_port() -> Iterator[int]:
    with peer_process(PEER) as port:
        yield port


@pytest.fixture(scope="session")
def sse_port() -> Iterator[int]:
    """A shared sse-starlette peer (its /stats accumulate over tests)."""
    with peer_process(SSE_PEER) as port:
        yield port


@pytest.fixture
def fresh_sse_port() -> Iterator[int]:
    """An sse-starlette peer of this test alone (clean /stats)."""
    with peer_process(SSE_PEER) as port:
        yield port


@pytest.fixture
def echo_url(echo_port: int) -> str:
    return f"ws://127.0.0.1:{echo_port}/echo"


class ThreadServer:
    """A `websockets` server running on its own loop in a thread."""

    def __init__(self, handler: Callable[[Any], Awaitable[None]], **kwargs: Any) -> None:
        self.handler = handler
        self.kwargs = kwargs
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Future[None]] = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = self.loop.create_future()
        async with serve(self.handler, "127.0.0.1", 0, ping_interval=None, **self.kwargs) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await asyncio.wait_for(self._stop, timeout=120)

    def __enter__(self) -> "ThreadServer":
        self._thread.start()
        assert self._ready.wait(10), "thread server did not start"
        return self

    def __exit__(self, *exc: Any) -> None:
        def stop() -> None:
            if self._stop is not None and not self._stop.done():
                self._stop.set_result(None)

        self.loop.call_soon_threadsafe(stop)
        self._thread.join(timeout=15)


@pytest.fixture
def thread_server() -> Callable[..., ThreadServer]:
    return ThreadServer


def run(coro: Awaitable[Any], timeout: float = 30) -> Any:
    """Runs a coroutine on a fresh loop, bounded in time."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())
