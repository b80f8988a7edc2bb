"""The asyncio API against the python `websockets` library as the server."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import warnings
from typing import Any, List

import pytest

import rtwire
from conftest import run


def test_echo_text_binary_large(echo_url: str) -> None:
    big = bytes(range(256)) * (4 * 4096)  # 4 MiB

    async def main() -> None:
        async with rtwire.connect(echo_url) as conn:
            assert conn.transport == "websocket"
            assert conn.url == echo_url
            await conn.send("héllo")
            assert await conn.recv() == "héllo"
            await conn.send(b"\x00\xff")
            assert await conn.recv() == b"\x00\xff"
            await conn.send(bytearray(b"ba"))
            assert await conn.recv() == b"ba"
            await conn.send(memoryview(b"xmemview")[1:])
            assert await conn.recv() == b"memview"
            await conn.send(big)
            assert await conn.recv() == big
            await conn.send("")
            assert await conn.recv() == ""

    run(main())


def test_subprotocol_headers_and_attributes(echo_port: int) -> None:
    async def main() -> None:
        url = f"ws://127.0.0.1:{echo_port}/headers"
        async with rtwire.connect(
            url, subprotocols=["chat.v1"], headers={"X-Token": "t0k3n"}, origin="http://a.example"
        ) as conn:
            assert conn.subprotocol == "chat.v1"
            names = [k for k, _ in conn.response_headers]
            assert "upgrade" in names and "sec-websocket-protocol" in names
            first = await conn.recv()
            assert isinstance(first, str)
            sent = json.loads(first)
            assert sent["x-token"] == "t0k3n"
            assert sent["origin"] == "http://a.example"
        assert conn.closed and conn.close_code == 1000

    run(main())


def test_async_iteration_stops_on_normal_close(echo_port: int) -> None:
    async def main() -> List[Any]:
        conn = await rtwire.connect(f"ws://127.0.0.1:{echo_port}/close?code=1000", reconnect=False)
        got = [m async for m in conn]
        assert conn.close_code == 1000
        return got

    assert run(main()) == []


def test_server_close_code_and_reason(echo_port: int) -> None:
    async def main() -> None:
        conn = await rtwire.connect(
            f"ws://127.0.0.1:{echo_port}/close?code=4000&reason=bye", reconnect=False
        )
        with pytest.raises(rtwire.ConnectionClosed) as e:
            async for _ in conn:
                pass
        assert e.value.code == 4000 and e.value.reason == "bye"
        assert conn.close_code == 4000 and conn.close_reason == "bye"
        # Again: the same answer, no hang.
        with pytest.raises(rtwire.ConnectionClosed):
            await conn.recv()

    run(main())


def test_client_close_code_reason(echo_url: str) -> None:
    async def main() -> None:
        conn = await rtwire.connect(echo_url)
        await conn.close(4001, "done")
        assert conn.closed
        assert conn.close_code == 4001 and conn.close_reason == "done"
        await conn.close()  # harmless

    run(main())


def test_close_argument_errors(echo_url: str) -> None:
    async def main() -> None:
        async with rtwire.connect(echo_url) as conn:
            with pytest.raises(rtwire.InvalidArgumentError, match="close code 999"):
                await conn.close(999)
            with pytest.raises(ValueError):
                await conn.close(1000, "x" * 124)
            with pytest.raises(TypeError, match="code"):
                await conn.close("1000")  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="reason"):
                await conn.close(1000, b"bytes")  # type: ignore[arg-type]
            await conn.send("still open")
            assert await conn.recv() == "still open"

    run(main())


def test_events_stream_order(echo_url: str) -> None:
    async def main() -> List[str]:
        conn = await rtwire.connect(echo_url)
        await conn.send("one")
        kinds = []
        async for ev in conn.events():
            kinds.append(ev.type)
            if isinstance(ev, rtwire.MessageEvent):
                assert ev.data == "one" and ev.event is None and ev.id is None
                conn._native.close(1000, "")
            if isinstance(ev, rtwire.OpenEvent):
                assert ev.transport == "websocket" and ev.url == echo_url
            if isinstance(ev, rtwire.ClosedEvent):
                assert ev.code == 1000 and ev.clean and ev.unsent == []
        return kinds

    assert run(main()) == ["open", "message", "closed"]


def test_reconnect_flushes_queued_sends(thread_server: Any) -> None:
    state = {"n": 0}

    async def handler(ws: Any) -> None:
        state["n"] += 1
        if state["n"] == 1:
            await ws.recv()
            await ws.close(1012, "restarting")  # retryable: the client comes back
            return
        async for m in ws:
            await ws.send(m)

    async def main(port: int) -> None:
        policy = rtwire.Reconnect(initial_delay=0.2, max_delay=0.2)
        conn = await rtwire.connect(f"ws://127.0.0.1:{port}/", reconnect=policy)
        await conn.send("first")
        events = conn.events()
        assert (await events.__anext__()).type == "open"
        ev = await events.__anext__()
        assert isinstance(ev, rtwire.ReconnectingEvent), ev
        assert ev.attempt == 1 and 0 <= ev.delay <= 0.2
        assert isinstance(ev.error, rtwire.ConnectionClosed)
        # Sent while reconnecting: queued, flushed in order after the new open.
        for i in range(5):
            await conn.send(f"queued {i}")
        assert (await events.__anext__()).type == "open"
        got = [await conn.recv() for _ in range(5)]
        assert got == [f"queued {i}" for i in range(5)]
        await conn.close()

    with thread_server(handler) as srv:
        run(main(srv.port))
    assert state["n"] == 2


def test_handshake_error_status(thread_server: Any) -> None:
    from websockets.http11 import Response
    from websockets.datastructures import Headers

    def refuse(connection: Any, request: Any) -> Any:
        return Response(403, "Forbidden", Headers([("X-Why", "no token")]), b"go away")

    async def main(port: int) -> None:
        with pytest.raises(rtwire.HandshakeError) as e:
            await rtwire.connect(f"ws://127.0.0.1:{port}/")
        assert e.value.status == 403
        assert ("x-why", "no token") in [(k.lower(), v) for k, v in e.value.headers]
        assert e.value.body is not None and b"go away" in e.value.body
        assert isinstance(e.value, rtwire.Error) and e.value.kind == "handshake"

    async def noop(ws: Any) -> None:
        pass

    with thread_server(noop, process_request=refuse) as srv:
        run(main(srv.port))


def test_too_large(echo_url: str) -> None:
    async def main() -> None:
        conn = await rtwire.connect(echo_url, max_message_size=1000)
        await conn.send("x" * 2000)
        with pytest.raises(rtwire.TooLargeError) as e:
            await conn.recv()
        assert e.value.close_code == 1009
        assert conn.closed and conn.close_code == 1009

    run(main())


def test_connect_errors(thread_server: Any) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    async def main() -> None:
        with pytest.raises(rtwire.ConnectError) as e:
            await rtwire.connect(f"ws://127.0.0.1:{port}/")
        assert isinstance(e.value, ConnectionError)
        with pytest.raises(rtwire.InvalidUrlError):
            await rtwire.connect("ws://127.0.0.1:0/")
        with pytest.raises(ValueError):
            await rtwire.connect("ftp://127.0.0.1/")
        # A listener that never answers the handshake.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        try:
            with pytest.raises(rtwire.TimeoutError) as t:
                await rtwire.connect(f"ws://127.0.0.1:{silent.getsockname()[1]}/", open_timeout=0.3)
            assert isinstance(t.value, TimeoutError)  # the builtin too
        finally:
            silent.close()
        with pytest.raises(TypeError, match="proxy"):
            rtwire.connect("ws://127.0.0.1:1/", proxy=3128)  # type: ignore[arg-type]
        with pytest.raises(rtwire.InvalidArgumentError, match="proxy"):
            await rtwire.connect(f"ws://127.0.0.1:{port}/", proxy="gopher://127.0.0.1:1")

    run(main())


def test_wrong_argument_types(echo_url: str) -> None:
    bad: List[Any] = [
        (dict(open_timeout="10"), TypeError, "open_timeout"),
        (dict(open_timeout=True), TypeError, "open_timeout"),
        (dict(open_timeout=-1), ValueError, "open_timeout"),
        (dict(open_timeout=math.nan), ValueError, "open_timeout"),
        (dict(close_timeout=math.inf), ValueError, "close_timeout"),
        (dict(headers=5), TypeError, "headers"),
        (dict(headers="X-A: b"), TypeError, "headers"),
        (dict(headers={"X-A": 1}), TypeError, "headers"),
        (dict(subprotocols="chat"), TypeError, "subprotocols"),
        (dict(reconnect="yes"), TypeError, "reconnect"),
        (dict(max_message_size=0), ValueError, "max_message_size"),
        (dict(max_message_size=1.5), rtwire.InvalidArgumentError, "max_message_size"),
        (dict(transport="carrier-pigeon"), ValueError, "transport"),
        (dict(transport=1), TypeError, "transport"),
        (dict(insecure=1), TypeError, "insecure"),
        (dict(cafile=3), TypeError, "cafile"),
        (dict(certfile="a.pem"), rtwire.InvalidArgumentError, "key go together"),
        (dict(ping_interval=0), rtwire.InvalidArgumentError, "ping_interval"),
        (dict(no_such_option=1), TypeError, "unexpected keyword argument 'no_such_option'"),
    ]
    for kwargs, exc, name in bad:
        with pytest.raises(exc, match=name):
            rtwire.connect(echo_url, **kwargs)
        with pytest.raises(exc, match=name):
            rtwire.sync.connect(echo_url, **kwargs)
    with pytest.raises(TypeError, match="url"):
        rtwire.connect(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="initial_delay"):
        rtwire.Reconnect(initial_delay="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_delay"):
        rtwire.Reconnect(initial_delay=2, max_delay=1)

    async def main() -> None:
        # Values that only the core checks fail at connect, before any I/O.
        with pytest.raises(rtwire.InvalidArgumentError, match="header"):
            await rtwire.connect(echo_url, headers={"bad name": "v"})
        with pytest.raises(ValueError, match="subprotocol"):
            await rtwire.connect(echo_url, subprotocols=["a b"])
        async with rtwire.connect(echo_url) as conn:
            for msg in (123, None, 1.5, ["x"], {"a": 1}):
                with pytest.raises(TypeError, match="message"):
                    await conn.send(msg)  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="contiguous"):
                await conn.send(memoryview(b"abcdef")[::2])

            class Sub(str):
                pass

            await conn.send(Sub("sub"))  # a str subclass is text
            assert await conn.recv() == "sub"

    run(main())


def test_use_after_close(echo_url: str) -> None:
    async def main() -> None:
        conn = await rtwire.connect(echo_url)
        await conn.close()
        with pytest.raises(rtwire.ConnectionClosed) as e:
            await conn.send("late")
        assert e.value.code == 1000
        assert e.value.unsent == ["late"]
        with pytest.raises(rtwire.ConnectionClosed):
            await conn.recv()
        with pytest.raises(rtwire.ConnectionClosed):
            conn.send_nowait(b"late")
        assert [e async for e in conn.events()] == []

    run(main())


def test_cancelled_recv_loses_no_message(echo_url: str) -> None:
    n = 300

    async def main() -> List[str]:
        async with rtwire.connect(echo_url) as conn:
            got: List[str] = []

            async def producer() -> None:
                for i in range(n):
                    await conn.send(str(i))
                    if i % 7 == 0:
                        await asyncio.sleep(0.001)

            task = asyncio.ensure_future(producer())
            rounds = 0
            while len(got) < n and rounds < 100_000:
                rounds += 1
                try:
                    # Very short timeouts: many receives are cancelled.
                    m = await asyncio.wait_for(conn.recv(), timeout=0.0005 * (rounds % 3))
                    assert isinstance(m, str)
                    got.append(m)
                except asyncio.TimeoutError:
                    pass
            await task
            return got

    assert run(main()) == [str(i) for i in range(n)]


def test_concurrent_recv_is_refused(echo_url: str) -> None:
    async def main() -> None:
        async with rtwire.connect(echo_url) as conn:
            first = asyncio.ensure_future(conn.recv())
            await asyncio.sleep(0.05)
            with pytest.raises(rtwire.ConcurrencyError):
                await conn.recv()
            await conn.send("x")
            assert await first == "x"

    run(main())


def test_hundred_connections_in_one_loop(echo_url: str) -> None:
    stage = {}

    async def one(i: int) -> int:
        stage[i] = "connect"
        async with rtwire.connect(echo_url) as conn:
            stage[i] = "send"
            for j in range(10):
                await conn.send(f"{i}:{j}")
            stage[i] = "recv"
            for j in range(10):
                assert await conn.recv() == f"{i}:{j}"
            stage[i] = "close"
        stage[i] = "done"
        return i

    async def main() -> List[int]:
        try:
            return list(await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(100))), 30))
        except asyncio.TimeoutError:
            from collections import Counter

            raise AssertionError(f"stuck: {Counter(stage.values())}") from None

    assert run(main(), timeout=60) == list(range(100))


def test_unclosed_connection_warns(echo_url: str) -> None:
    async def main() -> None:
        conn = await rtwire.connect(echo_url)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            del conn
            gc.collect()
        assert any(issubclass(x.category, ResourceWarning) for x in w)

    run(main())


def test_cancel_connect(thread_server: Any) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()

    async def main() -> None:
        task = asyncio.ensure_future(rtwire.connect(f"ws://127.0.0.1:{silent.getsockname()[1]}/"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        run(main())
    finally:
        silent.close()
