"""The application server (``rtwire.serve(handler, ...)``, in the shape of
``websockets.serve``), against the third-party `websockets` client and
rtwire's own."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
from typing import Any, List, Optional, Tuple

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect

import rtwire
from conftest import run


async def echo(conn: rtwire.Connection) -> None:
    async for message in conn:
        await conn.send(message)


def test_echo_text_and_binary_websockets_client() -> None:
    async def main() -> None:
        async with rtwire.serve(echo, "127.0.0.1", 0) as server:
            assert isinstance(server, rtwire.WebSocketServer)
            assert server.port > 0 and server.path == "/"
            assert server.ws_url == f"ws://127.0.0.1:{server.port}/"
            async with ws_connect(server.ws_url) as ws:
                await ws.send("héllo")
                assert await ws.recv() == "héllo"
                await ws.send(b"\x00\x01\xff")
                assert await ws.recv() == b"\x00\x01\xff"
                big = "x" * 200_000
                await ws.send(big)
                assert await ws.recv() == big
        assert server.closed

    run(main())


def test_echo_rtwire_client_and_same_connection_class() -> None:
    seen: List[Any] = []

    async def handler(conn: rtwire.Connection) -> None:
        seen.append(conn)
        await echo(conn)

    async def main() -> None:
        async with rtwire.serve(handler, "127.0.0.1", 0) as server:
            async with rtwire.connect(server.ws_url, reconnect=False) as conn:
                await conn.send("text")
                assert await conn.recv() == "text"
                await conn.send(bytearray(b"bin"))
                assert await conn.recv() == b"bin"
                assert conn.request is None  # a client's connection
        assert len(seen) == 1
        assert type(seen[0]) is rtwire.ServerConnection
        assert isinstance(seen[0], rtwire.Connection)
        assert seen[0].transport == "websocket"
        assert seen[0].closed and seen[0].close_code == 1000

    run(main())


def test_request_path_query_headers_subprotocol() -> None:
    requests: "asyncio.Queue[rtwire.Request]" = asyncio.Queue()

    async def handler(conn: rtwire.Connection) -> None:
        assert conn.request is not None
        requests.put_nowait(conn.request)
        assert conn.subprotocol == conn.request.protocol
        await echo(conn)

    async def main() -> None:
        async with rtwire.serve(
            handler, "127.0.0.1", 0, path="/chat", subprotocols=["chat.v2", "chat.v1"]
        ) as server:
            url = f"ws://127.0.0.1:{server.port}/chat?room=a%20b&x=1&x=2"
            async with ws_connect(
                url, subprotocols=["chat.v1"], additional_headers={"X-Token": "t0k"}  # type: ignore[list-item]
            ) as ws:
                assert ws.subprotocol == "chat.v1"
                req = await asyncio.wait_for(requests.get(), 10)
                assert req.path == "/chat"
                assert req.query == "room=a%20b&x=1&x=2"
                assert req.query_param("room") == "a b"
                assert req.params["x"] == ["1", "2"]
                assert req.query_param("missing") is None
                assert req.headers["x-token"] == "t0k"
                assert req.headers["X-TOKEN"] == "t0k"
                assert "user-agent" in req.headers
                assert req.headers.get_all("x-token") == ["t0k"]
                assert ("x-token", "t0k") in req.headers.raw_items()
                assert req.protocol == "chat.v1"
                assert req.peer[0] == "127.0.0.1" and req.peer[1] > 0
                assert req.id > 0
                assert "/chat" in repr(req)
                await ws.send("ok")
                assert await ws.recv() == "ok"
            # rtwire's client, without a subprotocol, then preferring ours
            async with rtwire.connect(f"ws://127.0.0.1:{server.port}/chat", reconnect=False) as c:
                req = await asyncio.wait_for(requests.get(), 10)
                assert req.protocol is None and req.query == ""
                assert req.headers["user-agent"].startswith("rtwire/")
            async with rtwire.connect(
                f"ws://127.0.0.1:{server.port}/chat", reconnect=False, subprotocols=["chat.v1", "chat.v2"]
            ) as c:
                req = await asyncio.wait_for(requests.get(), 10)
                assert req.protocol == "chat.v2"  # the server's preference
                assert c.subprotocol == "chat.v2"
            # another path is not the handler's
            with pytest.raises(Exception):
                async with ws_connect(f"ws://127.0.0.1:{server.port}/other"):
                    pass
            assert requests.empty()

    run(main())


def test_send_to_one() -> None:
    async def handler(conn: rtwire.Connection) -> None:
        async for message in conn:
            await conn.send(f"you said {message}")

    async def main() -> None:
        async with rtwire.serve(handler, "127.0.0.1", 0) as server:
            async with ws_connect(server.ws_url) as a, rtwire.connect(server.ws_url, reconnect=False) as b:
                await a.send("a1")
                assert await a.recv() == "you said a1"
                await b.send("b1")
                assert await b.recv() == "you said b1"
                # nothing crossed over
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(a.recv(), 0.3)
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(b.recv(), 0.3)
                await b.send("b2")
                assert await b.recv() == "you said b2"

    run(main())


def test_shutdown_closes_clients_with_1001() -> None:
    async def main() -> None:
        server = await rtwire.serve(echo, "127.0.0.1", 0)
        ws = await ws_connect(server.ws_url)
        conn = await rtwire.connect(server.ws_url, reconnect=False)
        await ws.send("ping")
        assert await ws.recv() == "ping"
        server.close()
        await server.wait_closed()
        assert server.closed
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        with pytest.raises(rtwire.ConnectionClosed) as closed:
            await conn.recv()
        assert closed.value.code == 1001
        server.close()  # again: harmless
        await server.wait_closed()

    run(main())


def test_serve_forever_returns_once_closed() -> None:
    async def main() -> None:
        async with rtwire.serve(echo, "127.0.0.1", 0) as server:
            forever = asyncio.ensure_future(server.serve_forever())
            await asyncio.sleep(0.05)
            assert not forever.done()
            asyncio.get_running_loop().call_later(0.05, server.close)
            await asyncio.wait_for(forever, 10)
            assert server.closed

    run(main())


def test_handler_that_raises_does_not_kill_the_server(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(conn: rtwire.Connection) -> None:
        async for message in conn:
            if message == "boom":
                raise RuntimeError("boom")
            await conn.send(message)

    async def main() -> None:
        async with rtwire.serve(handler, "127.0.0.1", 0) as server:
            async with ws_connect(server.ws_url) as other:
                async with ws_connect(server.ws_url) as victim:
                    await victim.send("boom")
                    with pytest.raises(websockets.ConnectionClosed) as info:
                        await victim.recv()
                    assert info.value.rcvd is not None and info.value.rcvd.code == 1011
                await other.send("still here")
                assert await other.recv() == "still here"
            async with rtwire.connect(server.ws_url, reconnect=False) as conn:
                await conn.send("new")
                assert await conn.recv() == "new"

    with caplog.at_level(logging.ERROR, logger="rtwire.server"):
        run(main())
    assert any("handler failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_handler_returning_closes_with_1000() -> None:
    async def handler(conn: rtwire.Connection) -> None:
        await conn.send("bye")

    async def main() -> None:
        async with rtwire.serve(handler, "127.0.0.1", 0) as server:
            async with ws_connect(server.ws_url) as ws:
                assert await ws.recv() == "bye"
                with pytest.raises(websockets.ConnectionClosedOK) as info:
                    await ws.recv()
                assert info.value.rcvd is not None and info.value.rcvd.code == 1000

    run(main())


@pytest.mark.parametrize("asynchronous", [False, True])
def test_process_request(asynchronous: bool) -> None:
    seen: List[Tuple[str, Optional[str]]] = []

    def decide(request: rtwire.Request) -> Optional[Tuple[int, str]]:
        seen.append((request.path, request.query_param("user")))
        if request.query_param("user") == "bad":
            raise ValueError("bad user")
        if not request.query_param("user"):
            return (401, "who are you?")
        return None

    async def decide_async(request: rtwire.Request) -> Optional[Tuple[int, str]]:
        await asyncio.sleep(0.01)
        return decide(request)

    async def handler(conn: rtwire.Connection) -> None:
        assert conn.request is not None
        await conn.send(f"hello {conn.request.query_param('user')}")

    async def main() -> None:
        hook: rtwire.ProcessRequest = decide_async if asynchronous else decide
        async with rtwire.serve(handler, "127.0.0.1", 0, process_request=hook) as server:
            async with ws_connect(server.ws_url + "?user=ann") as ws:
                assert await ws.recv() == "hello ann"
            with pytest.raises(websockets.InvalidStatus) as refused:
                await ws_connect(server.ws_url)
            assert refused.value.response.status_code == 401
            assert refused.value.response.body == b"who are you?"
            with pytest.raises(rtwire.HandshakeError) as err:
                await rtwire.connect(server.ws_url, reconnect=False)
            assert err.value.status == 401
            with pytest.raises(rtwire.HandshakeError) as err:
                await rtwire.connect(server.ws_url + "?user=bad", reconnect=False)
            assert err.value.status == 500
            async with rtwire.connect(server.ws_url + "?user=bob", reconnect=False) as conn:
                assert await conn.recv() == "hello bob"
        assert ("/", "ann") in seen and ("/", None) in seen and ("/", "bob") in seen

    run(main())


def test_argument_checks() -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="process_request"):
            rtwire.serve(echo, process_request=5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="path"):
            rtwire.serve(echo, path="no-slash")
        with pytest.raises(TypeError, match="subprotocols"):
            rtwire.serve(echo, subprotocols="chat")
        with pytest.raises(ValueError, match="ping_interval"):
            rtwire.serve(echo, ping_interval=0)

    run(main())
    with pytest.raises(RuntimeError):
        rtwire.serve(echo)  # no running loop


def test_runtime_driven_loop_io_off() -> None:
    # RTWIRE_LOOP_IO=0: the client's connections run on the runtime too.
    script = textwrap.dedent(
        """
        import asyncio, rtwire
        from websockets.asyncio.client import connect

        async def echo(conn):
            async for m in conn:
                await conn.send(m)

        async def main():
            async with rtwire.serve(echo, "127.0.0.1", 0) as server:
                async with connect(server.ws_url) as ws:
                    await ws.send("a")
                    assert await ws.recv() == "a"
                async with rtwire.connect(server.ws_url, reconnect=False) as c:
                    await c.send(b"b")
                    assert await c.recv() == b"b"
            print("ok")

        asyncio.run(asyncio.wait_for(main(), 20))
        """
    )
    env = dict(os.environ, RTWIRE_LOOP_IO="0")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_many_clients_and_channels_on_the_same_port() -> None:
    async def main() -> None:
        async with rtwire.serve(echo, "127.0.0.1", 0, path="/echo") as server:

            async def one(i: int) -> None:
                async with ws_connect(server.ws_url) as ws:
                    for j in range(5):
                        await ws.send(f"{i}-{j}")
                        assert await ws.recv() == f"{i}-{j}"

            await asyncio.gather(*(one(i) for i in range(20)))
            # the channel paths of the same server still work
            async with rtwire.connect(f"ws://127.0.0.1:{server.port}/ws/news", reconnect=False) as sub:
                await asyncio.sleep(0.1)
                server.publish("news", "hello")
                assert await asyncio.wait_for(sub.recv(), 10) == "hello"

    run(main())


async def chat(conn: rtwire.ServerConnection) -> None:
    room = conn.request.query_param("room") or "lobby"
    assert conn.join(room) and not conn.join(room)
    await conn.send(f"id {conn.id}")
    async for message in conn:
        if message == "/rooms":
            await conn.send(",".join(conn.rooms))
        else:
            conn.server.broadcast(room, message, exclude=conn)


def test_rooms_broadcast_except_the_sender_and_isolation() -> None:
    async def main() -> None:
        async with rtwire.serve(chat, "127.0.0.1", 0) as server:
            url = server.ws_url
            async with ws_connect(url + "?room=a") as a1, ws_connect(url + "?room=a") as a2, ws_connect(
                url + "?room=b"
            ) as b1:
                ids = [int(str(await c.recv()).split()[1]) for c in (a1, a2, b1)]
                assert server.members("a") == ids[:2]
                assert server.members("b") == ids[2:]
                assert server.rooms == ["a", "b"]
                await a1.send("hi a")
                assert await a2.recv() == "hi a"
                # Everybody's next message is this one: b1 never got room a's,
                # a1 never got its own.
                assert server.broadcast(None, b"all") == 3
                for c in (a1, a2, b1):
                    assert await c.recv() == b"all"
                assert server.broadcast("a", "not a2", exclude=[ids[1]]) == 1
                assert await a1.recv() == "not a2"
                await b1.send("/rooms")
                assert await b1.recv() == "b"
                with pytest.raises(TypeError):
                    server.broadcast("a", "x", exclude="a1")  # type: ignore[arg-type]
                with pytest.raises(rtwire.InvalidArgumentError):
                    server._native.join(ids[0], "")
            # Connections leave their rooms when they end.
            for _ in range(100):
                if not server.rooms:
                    break
                await asyncio.sleep(0.02)
            assert server.rooms == []

    run(main())


def test_a_slow_consumer_is_closed_1008_and_the_others_get_everything() -> None:
    n = 600
    payload = b"x" * (16 << 10)

    async def main() -> None:
        async with rtwire.serve(chat, "127.0.0.1", 0, send_queue_bytes=64 << 10) as server:
            url = server.ws_url + "?room=r"
            # A raw socket that completes the handshake and then reads nothing.
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(
                b"GET /?room=r HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
            async with rtwire.connect(url, reconnect=False) as fast:
                await fast.recv()  # its id
                for _ in range(100):
                    if len(server.members("r")) == 2:
                        break
                    await asyncio.sleep(0.02)
                for i in range(n):
                    server.broadcast("r", payload)
                    assert len(await fast.recv()) == len(payload), i
                for _ in range(200):
                    if len(server.members("r")) == 1:
                        break
                    await asyncio.sleep(0.02)
                assert len(server.members("r")) == 1, "the slow one was closed"
            writer.close()

    run(main())


def test_pages_are_served_without_the_token() -> None:
    import urllib.error
    import urllib.request

    async def main() -> None:
        pages = {"/": ("text/html; charset=utf-8", "<p>héllo</p>"), "/x.bin": ("application/octet-stream", b"\x00")}
        async with rtwire.serve(echo, "127.0.0.1", 0, path="/ws", token="t", pages=pages) as server:
            def get(path: str) -> Tuple[int, str, bytes]:
                try:
                    with urllib.request.urlopen(server.url + path, timeout=10) as r:
                        return r.status, r.headers["content-type"], r.read()
                except urllib.error.HTTPError as e:
                    return e.code, "", b""

            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, get, "/") == (200, "text/html; charset=utf-8", "<p>héllo</p>".encode())
            assert (await loop.run_in_executor(None, get, "/x.bin"))[2] == b"\x00"
            assert (await loop.run_in_executor(None, get, "/latest/c"))[0] == 401
        with pytest.raises(ValueError):
            rtwire.serve(echo, pages={"nope": ("text/plain", "x")})
        with pytest.raises(TypeError):
            rtwire.serve(echo, pages={"/": "x"})  # type: ignore[dict-item]

    run(main())


@pytest.mark.parametrize("asynchronous", [False, True])
def test_authenticate_attaches_the_user(asynchronous: bool) -> None:
    users = {"t-ada": {"name": "ada"}}

    def who(request: rtwire.Request) -> Any:
        token = request.query_param("token")
        if token == "slow":
            return (429, "slow down")
        return users.get(token or "")

    async def who_async(request: rtwire.Request) -> Any:
        await asyncio.sleep(0.01)
        return who(request)

    async def handler(conn: rtwire.ServerConnection) -> None:
        await conn.send(f"hello {conn.request.user['name']}")

    async def main() -> None:
        hook = who_async if asynchronous else who
        async with rtwire.serve(handler, "127.0.0.1", 0, authenticate=hook) as server:
            async with ws_connect(server.ws_url + "?token=t-ada") as ws:
                assert await ws.recv() == "hello ada"
            for query, status in (("?token=nope", 401), ("?token=slow", 429)):
                with pytest.raises(rtwire.HandshakeError) as err:
                    await rtwire.connect(server.ws_url + query, reconnect=False)
                assert err.value.status == status
            assert server._users == {}, "nothing kept once the connection opened"
        with pytest.raises(TypeError, match="not both"):
            rtwire.serve(handler, authenticate=who, process_request=lambda r: None)

    run(main())


def test_idle_timeout_closes_a_silent_client_with_1001() -> None:
    async def main() -> None:
        async with rtwire.serve(echo, "127.0.0.1", 0, idle_timeout=0.3) as server:
            async with ws_connect(server.ws_url) as quiet, ws_connect(server.ws_url) as talker:
                for i in range(8):
                    await talker.send(str(i))
                    assert await asyncio.wait_for(talker.recv(), 5) == str(i)
                    await asyncio.sleep(0.1)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(quiet.recv(), 5)
                assert closed.value.rcvd is not None
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "idle timeout")
                await talker.send("still")
                assert await asyncio.wait_for(talker.recv(), 5) == "still"
        with pytest.raises(ValueError, match="idle_timeout"):
            rtwire.serve(echo, "127.0.0.1", 0, idle_timeout=0)

    run(main())


def test_rooms_of_a_connection_after_the_server_closed_are_empty() -> None:
    kept: List[rtwire.ServerConnection] = []

    async def keep(conn: rtwire.ServerConnection) -> None:
        conn.join("r")
        kept.append(conn)
        async for _ in conn:
            pass

    async def main() -> None:
        async with rtwire.serve(keep, "127.0.0.1", 0) as server:
            async with ws_connect(server.ws_url):
                for _ in range(100):
                    if kept:
                        break
                    await asyncio.sleep(0.02)
                assert kept[0].rooms == ["r"]
        conn = kept[0]
        assert server.broadcast("r", "late") == 0
        assert server.members("r") == [] and server.rooms == []
        assert conn.leave("r") is False
        assert conn.join("r") is False
        assert conn.rooms == []

    run(main())


def test_a_route_over_sse_and_auto_fallback_with_rtwire_clients() -> None:
    async def main() -> None:
        async with rtwire.serve(echo, "127.0.0.1", 0, allowed_origins=["http://good.example"]) as server:
            http = f"http://127.0.0.1:{server.port}/"
            async with rtwire.connect(http + "?transport=sse", transport="sse", reconnect=False) as sse:
                await sse.send("over sse")
                assert await asyncio.wait_for(sse.recv(), 5) == "over sse"
            # The upgrade is refused for this origin: auto falls back to SSE.
            async with rtwire.connect(
                http, transport="auto", reconnect=False, headers={"Origin": "http://evil.example"}
            ) as conn:
                await conn.send("fell back")
                assert await asyncio.wait_for(conn.recv(), 5) == "fell back"
                assert conn.transport == "sse"

    run(main())
