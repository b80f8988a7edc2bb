"""The embedded server from Python (``rtwire.serve``), with the package's
clients of every transport and the third-party `websockets` client."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import time
import urllib.request
import warnings
from typing import Any, Callable, List, Optional, Tuple, Union

import pytest

import rtwire
import rtwire.sync
from conftest import run

FAST = rtwire.Reconnect(initial_delay=0.01, max_delay=0.05)


def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def ws_url(server: rtwire.Server, path: str) -> str:
    return "ws" + server.url[len("http") :] + path


def next_message(conn: rtwire.sync.Connection, timeout: float = 10.0) -> rtwire.MessageEvent:
    deadline = time.monotonic() + timeout
    while True:
        ev = conn.next_event(timeout=max(0.0, deadline - time.monotonic()))
        if isinstance(ev, rtwire.MessageEvent):
            return ev


def publish_until_seen(server: rtwire.Server, conn: rtwire.sync.Connection, channel: str) -> None:
    """For a client whose subscription starts live: publishes probes until
    one arrives, then drains the probes still on the way."""
    for i in range(200):
        server.publish(channel, f"probe {i}")
        try:
            m = conn.recv(timeout=0.05)
        except rtwire.TimeoutError:
            continue
        assert isinstance(m, str) and m.startswith("probe ")
        last = f"probe {i}"
        while m != last:
            m = conn.recv(timeout=5)
        return
    raise AssertionError("no probe arrived")


def test_clients_of_every_transport_receive_what_is_published() -> None:
    with rtwire.serve(history=100) as server:
        assert server.host == "127.0.0.1" and server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        start = f"{server.epoch}-0"  # from the start of the channel's history
        clients = {
            "websocket": rtwire.sync.connect(
                ws_url(server, f"/ws/news?cursor={start}"), rtwire_protocol=True, reconnect=FAST
            ),
            "sse": rtwire.sync.connect(
                f"{server.url}/sse/news", transport="sse", last_event_id=start, reconnect=FAST
            ),
            "long_poll": rtwire.sync.connect(
                f"{server.url}/poll/news",
                transport="long_poll",
                # Without an initial cursor the first poll answers at once
                # with the current position (one with a cursor is held until
                # news, and the session opens with the first answer).
                cursor=rtwire.Cursor(json_field="cursor"),
                reconnect=FAST,
            ),
            "stream": rtwire.sync.connect(
                f"{server.url}/stream/news?cursor={start}",
                transport="stream",
                framing="ndjson",
                cursor=rtwire.Cursor(json_field="id"),
                reconnect=FAST,
            ),
        }
        ids = [server.publish("news", f"n{i}") for i in range(1, 6)]
        assert ids == [f"{server.epoch}-{i}" for i in range(1, 6)]
        server.publish("news", b"\x00\xff")
        for transport, conn in clients.items():
            assert conn.transport == transport
            got: List[Tuple[Any, Optional[str]]] = []
            for _ in range(6):
                m = next_message(conn)
                data: Any = m.data
                if transport == "stream":
                    line = json.loads(str(data))
                    data = line["data"]
                got.append((data, m.id))
            texts = [d for d, _ in got[:5]]
            assert texts == [f"n{i}" for i in range(1, 6)], transport
            if transport == "long_poll":
                # The id of a long-polled message is the cursor of its response.
                assert all(str(i).startswith(f"{server.epoch}-") for _, i in got), transport
            else:
                assert [i for _, i in got[:5]] == ids, transport
            if transport == "websocket":
                assert got[5][0] == b"\x00\xff"
        stats = server.stats()
        assert stats.connections >= 3
        news = stats.channels["news"]
        assert (news.name, news.published, news.history) == ("news", 6, 6)
        for conn in clients.values():
            conn.close()
    assert server.closed
    with pytest.raises(RuntimeError, match="closed"):
        server.publish("news", "late")


def test_short_polling_sees_changes_of_the_latest_message() -> None:
    with rtwire.serve() as server:
        server.publish("status", "v1")
        with rtwire.sync.connect(f"{server.url}/latest/status", transport="poll", poll_interval=0.05) as conn:
            assert conn.transport == "poll"
            assert conn.recv(timeout=5) == "v1"
            with pytest.raises(rtwire.TimeoutError):
                conn.recv(timeout=0.3)  # unchanged: nothing new
            server.publish("status", "v2")
            assert conn.recv(timeout=5) == "v2"


def test_python_websockets_client_talks_to_rtwire_serve() -> None:
    from websockets.sync.client import connect as ws_connect

    with rtwire.serve() as server:
        with ws_connect(ws_url(server, "/ws/chat"), open_timeout=5) as a, ws_connect(
            ws_url(server, "/ws/chat"), subprotocols=["rtwire.v1"], open_timeout=5  # type: ignore[list-item]
        ) as b:
            until(lambda: server.stats().channels.get("chat") is not None
                  and server.stats().channels["chat"].subscribers == 2, what="two subscribers")
            a.send("hello from websockets")  # published to the channel as is
            assert a.recv(timeout=5) == "hello from websockets"
            assert b.subprotocol == "rtwire.v1"
            first = b.recv(timeout=5)
            if isinstance(first, str) and first.startswith("!"):  # a notice of rtwire.v1
                first = b.recv(timeout=5)
            assert first == f"{server.epoch}-1\nhello from websockets"
            server.publish("chat", b"\x01bin")
            assert a.recv(timeout=5) == b"\x01bin"
            assert b.recv(timeout=5) == f"{server.epoch}-2\n".encode() + b"\x01bin"


def test_disconnect_all_then_resume_over_sse_loses_nothing() -> None:
    with rtwire.serve() as server:
        conn = rtwire.sync.connect(f"{server.url}/sse/feed", reconnect=FAST)
        publish_until_seen(server, conn, "feed")
        for i in range(1, 4):
            server.publish("feed", f"before {i}")
        assert [conn.recv(timeout=5) for _ in range(3)] == [f"before {i}" for i in range(1, 4)]
        server.disconnect_all()
        for i in range(1, 6):
            server.publish("feed", f"after {i}")
        events = []
        got: List[Union[str, bytes]] = []
        deadline = time.monotonic() + 10
        while len(got) < 5:
            ev = conn.next_event(timeout=max(0.0, deadline - time.monotonic()))
            events.append(ev)
            if isinstance(ev, rtwire.MessageEvent):
                got.append(ev.data)
        assert got == [f"after {i}" for i in range(1, 6)], "every message once, in order"
        assert any(isinstance(e, rtwire.ReconnectingEvent) for e in events), "the cut was seen"
        with pytest.raises(rtwire.TimeoutError):
            conn.recv(timeout=0.2)  # no duplicates follow
        conn.close()


def test_auto_transport_via_negotiate() -> None:
    async def main(server: rtwire.Server) -> None:
        async with rtwire.connect(f"{server.url}/negotiate/room") as conn:
            assert conn.transport == "websocket"
            assert conn.subprotocol == "rtwire.v1"
            for i in range(100):  # its subscription starts live
                server.publish("room", "probe")
                try:
                    m = await asyncio.wait_for(conn.recv(), 0.05)
                    break
                except asyncio.TimeoutError:
                    continue
            else:
                raise AssertionError("nothing arrived")
            assert m == "probe"
            server.publish("room", "hello")
            while m == "probe":
                m = await conn.recv()
            assert m == "hello"
            await conn.send("from auto")  # WebSocket: published to the channel
            assert await conn.recv() == "from auto"

    with rtwire.serve() as server:
        run(main(server))


def test_on_message_handler_sees_client_sends() -> None:
    with rtwire.serve() as server:
        seen: List[Tuple[str, Union[str, bytes], str]] = []

        @server.on_message
        def handle(channel: str, data: Union[str, bytes]) -> Optional[str]:
            seen.append((channel, data, threading.current_thread().name))
            if data == "drop me":
                return None
            if isinstance(data, bytes):
                return data.hex()
            return str(data).upper()

        assert handle.__name__ == "handle"
        watcher = rtwire.sync.connect(f"{server.url}/sse/chat", reconnect=FAST)
        sender = rtwire.sync.connect(ws_url(server, "/ws/chat"))
        publish_until_seen(server, watcher, "chat")
        sender.send("hi")
        sender.send("drop me")
        sender.send(b"\x01\x02")
        assert watcher.recv(timeout=5) == "HI"
        assert watcher.recv(timeout=5) == "0102"
        assert [(c, d) for c, d, _ in seen] == [("chat", "hi"), ("chat", "drop me"), ("chat", b"\x01\x02")]
        assert all(name != "MainThread" for _, _, name in seen)

        # A failing callback is reported, not swallowed; the server goes on.
        def broken(channel: str, data: Union[str, bytes]) -> str:
            raise KeyError("boom")

        with pytest.warns(RuntimeWarning, match="boom"):
            server.on_message(broken)
            sender.send("x")
            until(lambda: len(server.errors) == 1, what="the error")
        assert isinstance(server.errors[0], KeyError)

        def wrong(channel: str, data: Union[str, bytes]) -> Any:
            return 42

        with pytest.warns(RuntimeWarning, match="must return"):
            server.on_message(wrong)
            sender.send("y")
            until(lambda: len(server.errors) == 2, what="the second error")
        assert isinstance(server.errors[1], TypeError)

        # None restores the default: published as sent.
        server.on_message(None)
        sender.send("as is")
        assert watcher.recv(timeout=5) == "as is"
        assert server.dropped == 0

        with pytest.raises(TypeError, match="callable"):
            server.on_message("nope")  # type: ignore[arg-type]

        async def coro(channel: str, data: Union[str, bytes]) -> None:
            return None

        with pytest.raises(TypeError, match="coroutine"):
            server.on_message(coro)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="queue"):
            server.on_message(handle, queue=0)
        with pytest.raises(TypeError, match="queue"):
            server.on_message(handle, queue=1.5)  # type: ignore[arg-type]
        sender.close()
        watcher.close()


def test_slow_handler_drops_over_its_queue() -> None:
    with rtwire.serve() as server:
        gate = threading.Event()
        handled: List[Union[str, bytes]] = []

        def slow(channel: str, data: Union[str, bytes]) -> None:
            gate.wait(10)
            handled.append(data)
            return None

        server.on_message(slow, queue=2)
        with rtwire.sync.connect(ws_url(server, "/ws/q")) as sender:
            for i in range(10):
                sender.send(f"m{i}")
            # The first message may be taken by the handler thread before
            # the next ones come (then 1 + 2 wait), or not (then 2 wait).
            until(lambda: server.dropped >= 7, what="dropped messages")
            with pytest.warns(RuntimeWarning, match="dropped"):
                gate.set()
                until(lambda: len(handled) + server.dropped == 10, what="the queued messages")
        assert 2 <= len(handled) <= 3
        assert handled == sorted(handled, key=lambda m: int(str(m)[1:])) and handled[0] == "m0"


def test_async_server_and_client() -> None:
    async def main() -> None:
        async with rtwire.serve() as server:
            async with rtwire.connect(
                ws_url(server, f"/ws/a?cursor={server.epoch}-0"), rtwire_protocol=True
            ) as conn:
                server.publish("a", "one")
                server.publish("a", b"two")
                assert await conn.recv() == "one"
                assert await conn.recv() == b"two"
            await server.aclose()  # twice is harmless
        assert server.closed

    run(main())


def test_close_ends_clients_and_is_idempotent() -> None:
    server = rtwire.serve()
    conn = rtwire.sync.connect(ws_url(server, "/ws/x"), reconnect=False)
    server.close()
    server.close()
    assert server.closed
    with pytest.raises(rtwire.ConnectionClosed) as e:
        conn.recv(timeout=10)
    assert e.value.code == 1001
    for call in (server.stats, server.disconnect_all):
        with pytest.raises(RuntimeError, match="closed"):
            call()
    conn.close()


def test_unclosed_server_warns_and_stops() -> None:
    server = rtwire.serve()
    port = server.port
    with pytest.warns(ResourceWarning, match="unclosed rtwire.Server"):
        del server
        gc.collect()

    def refused() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) != 0

    until(refused, what="the port to close")


def test_token_and_http_endpoints() -> None:
    with rtwire.serve(token="s3cret", cors=True) as server:
        with pytest.raises(rtwire.HandshakeError) as e:
            rtwire.sync.connect(f"{server.url}/sse/t", transport="sse")
        assert e.value.status == 401
        with rtwire.sync.connect(
            f"{server.url}/sse/t",
            headers={"Authorization": "Bearer s3cret"},
            send_url=f"{server.url}/publish/t?token=s3cret",
            reconnect=FAST,
        ) as conn:
            publish_until_seen(server, conn, "t")
            conn.send("posted")  # POST /publish/t
            assert conn.recv(timeout=5) == "posted"
        req = urllib.request.Request(f"{server.url}/healthz")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.read().strip() == b"ok"


def test_serve_argument_checks() -> None:
    for kwargs, exc, word in (
        ({"host": 1}, TypeError, "host"),
        ({"port": "80"}, TypeError, "port"),
        ({"port": 70000}, ValueError, "port"),
        ({"history": 0}, ValueError, "history"),
        ({"client_queue": True}, TypeError, "client_queue"),
        ({"token": 5}, TypeError, "token"),
        ({"token": ""}, ValueError, "token"),
        ({"tls_cert": "cert.pem"}, ValueError, "tls_key"),
        ({"tls_cert": 1, "tls_key": 2}, TypeError, "tls_cert"),
        ({"allowed_origins": "https://a"}, TypeError, "allowed_origins"),
        ({"cors": 1}, TypeError, "cors"),
        ({"ping_interval": 0}, ValueError, "ping_interval"),
        ({"heartbeat": -1.0}, ValueError, "heartbeat"),
        ({"long_poll_hold": "1"}, TypeError, "long_poll_hold"),
        ({"max_message_size": 0}, ValueError, "max_message_size"),
        ({"max_headers": 0}, ValueError, "max_headers"),
        ({"header_timeout": float("nan")}, ValueError, "header_timeout"),
    ):
        with pytest.raises(exc, match=word):
            rtwire.serve(**kwargs)
    with pytest.raises(rtwire.TlsError):
        rtwire.serve(tls_cert="/nonexistent/cert.pem", tls_key="/nonexistent/key.pem")
    with rtwire.serve() as server:
        with pytest.raises(rtwire.ConnectError):
            rtwire.serve(port=server.port)  # in use
        for channel, exc in (("", ValueError), ("a/b", ValueError), ("x" * 129, ValueError), (1, TypeError)):
            with pytest.raises(exc, match="channel"):
                server.publish(channel, "x")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="message"):
            server.publish("ok", 1)  # type: ignore[arg-type]
        assert server.publish("ok", bytearray(b"ab")) == f"{server.epoch}-1"
        assert server.publish("ok", memoryview(b"cd")) == f"{server.epoch}-2"
        assert repr(server).startswith("<rtwire.Server http://127.0.0.1:")


def test_allowed_origins() -> None:
    with rtwire.serve(allowed_origins=["https://good.example"]) as server:
        with pytest.raises(rtwire.HandshakeError) as e:
            rtwire.sync.connect(ws_url(server, "/ws/o"), origin="https://evil.example")
        assert e.value.status == 403
        rtwire.sync.connect(ws_url(server, "/ws/o"), origin="https://good.example").close()


def test_sync_close_keeps_unread_messages(echo_url: str) -> None:
    conn = rtwire.sync.connect(echo_url)
    for i in range(5):
        conn.send(f"m{i}")
    time.sleep(0.3)  # the echoes arrive and wait, unread
    conn.close()
    assert conn.closed
    assert [conn.recv(timeout=1) for _ in range(5)] == [f"m{i}" for i in range(5)]
    with pytest.raises(rtwire.ConnectionClosed) as e:
        conn.recv(timeout=1)
    assert e.value.code == 1000
    assert list(conn.events(timeout=1)) == []  # the ClosedEvent was handed out


def test_stats_counts() -> None:
    with rtwire.serve() as server:
        before = server.stats()
        assert before.channels == {}
        conn = rtwire.sync.connect(ws_url(server, "/ws/s"))
        until(lambda: "s" in server.stats().channels, what="the channel")
        st = server.stats()
        assert st.channels["s"].subscribers == 1 and st.connections == 1
        assert "ServerStats(connections=1" in repr(st)
        conn.close()
        until(lambda: server.stats().connections == 0, what="the disconnect")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert isinstance(server.stats().channels, dict)


def test_serve_refuses_an_unknown_keyword_naming_it() -> None:
    with pytest.raises(TypeError, match="histroy"):
        rtwire.serve("127.0.0.1", 0, histroy=5)  # type: ignore[call-overload]


def test_serve_keywords_are_the_server_schema() -> None:
    from rtwire import _rtwire, _schema

    schema = _rtwire.server_option_schema()
    keywords = {s["python"] for s in schema if s["python"]}
    assert keywords == set(_schema.ServerOptions.__annotations__)
    assert {"max_connections", "max_per_ip", "idle_timeout"} <= keywords
    # The core's message, as every language reports it.
    for kwargs, message in (
        ({"history": 0}, "history must be at least 1 and at most 1073741824, got 0"),
        ({"client_queue": 1.5}, "client_queue must be a whole number, got 1.5"),
        ({"token": "a b"}, "token must be non-empty, without spaces or control characters"),
        ({"slow_consumer": "drop"}, 'slow_consumer must be one of disconnect, skip, got "drop"'),
        ({"max_per_ip": 0}, "max_per_ip must be at least 1, got 0"),
    ):
        with pytest.raises(rtwire.InvalidArgumentError) as e:
            rtwire.serve(**kwargs)  # type: ignore[arg-type]
        assert str(e.value) == message
    with rtwire.serve(
        max_connections=10, max_per_ip=2, slow_consumer="skip", allowed_origins=("https://a.example",), idle_timeout=None
    ) as server:
        assert server.port > 0
