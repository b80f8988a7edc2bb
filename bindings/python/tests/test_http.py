"""The HTTP transports against the third-party sse-starlette peer
(tests/peers/sse_server.py), and the checks of their arguments."""

from __future__ import annotations

import json
import math
import time
import urllib.request
from typing import Any, Dict, List

import pytest

import rtwire
import rtwire.sync
from conftest import run

FAST = rtwire.Reconnect(initial_delay=0.01, max_delay=0.05)


def http(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def peer_stats(port: int) -> Dict[str, Any]:
    with urllib.request.urlopen(http(port, "/stats"), timeout=5) as r:
        stats: Dict[str, Any] = json.load(r)
        return stats


# -- SSE ----------------------------------------------------------------------


def test_sse_resumes_with_last_event_id_across_stream_ends(fresh_sse_port: int) -> None:
    url = http(fresh_sse_port, "/events?total=6&per_conn=2")
    conn = rtwire.sync.connect(url, transport="sse", reconnect=FAST)
    assert conn.transport == "sse"
    events = list(conn.events(timeout=10))
    messages = [e for e in events if isinstance(e, rtwire.MessageEvent)]
    assert [m.data for m in messages] == [f"event {i}" for i in range(1, 7)], "every event once, in order"
    assert [m.id for m in messages] == [str(i) for i in range(1, 7)]
    assert [m.event for m in messages] == ["message", "message", "tick", "message", "message", "tick"]
    assert sum(isinstance(e, rtwire.OpenEvent) for e in events) == 3, "6 events at 2 per connection"
    assert sum(isinstance(e, rtwire.ReconnectingEvent) for e in events) >= 3
    # Once every event was sent the peer answers 204: the connection stops.
    errors = [e.error for e in events if isinstance(e, rtwire.ErrorEvent)]
    assert len(errors) == 1 and isinstance(errors[0], rtwire.HandshakeError)
    assert errors[0].status == 204
    assert isinstance(events[-1], rtwire.ClosedEvent)
    with pytest.raises(rtwire.HandshakeError) as e:
        conn.recv(timeout=1)
    assert e.value.status == 204
    conn.close()
    assert peer_stats(fresh_sse_port)["last_event_ids"] == [None, "2", "4", "6"], "each reconnect sent its last id"


def test_sse_async_iteration_ends_with_the_stop(sse_port: int) -> None:
    async def main() -> List[Any]:
        got: List[Any] = []
        async with rtwire.connect(http(sse_port, "/events?total=4&per_conn=3"), reconnect=FAST) as conn:
            assert conn.transport == "sse"  # auto: an event stream is SSE
            with pytest.raises(rtwire.HandshakeError) as e:
                async for m in conn:
                    got.append(m)
            assert e.value.status == 204
        return got

    assert run(main()) == [f"event {i}" for i in range(1, 5)]


def test_sse_event_type_and_id_on_message_events(sse_port: int) -> None:
    async def main() -> List[rtwire.MessageEvent]:
        out: List[rtwire.MessageEvent] = []
        async with rtwire.connect(http(sse_port, "/events?total=3&per_conn=3"), transport="sse", reconnect=False) as conn:
            async for ev in conn.events():
                if isinstance(ev, rtwire.MessageEvent):
                    out.append(ev)
        return out

    got = run(main())
    assert [(m.data, m.event, m.id) for m in got] == [
        ("event 1", "message", "1"),
        ("event 2", "message", "2"),
        ("event 3", "tick", "3"),
    ]
    assert "event='tick'" in repr(got[2]).replace('"', "'")


def test_last_event_id_is_sent_on_the_first_request(sse_port: int) -> None:
    with rtwire.sync.connect(
        http(sse_port, "/events?total=3&per_conn=5"), transport="sse", last_event_id="2", reconnect=False
    ) as conn:
        assert conn.recv(timeout=5) == "event 3"
        with pytest.raises(rtwire.Error):
            conn.recv(timeout=5)


@pytest.mark.parametrize("code", [204, 404, 500])
def test_refused_status_is_a_handshake_error(sse_port: int, code: int) -> None:
    with pytest.raises(rtwire.HandshakeError) as e:
        rtwire.sync.connect(http(sse_port, f"/status/{code}"), transport="sse")
    assert e.value.status == code
    assert e.value.kind == "handshake"


def test_wrong_content_type_is_a_handshake_error(sse_port: int) -> None:
    with pytest.raises(rtwire.HandshakeError) as e:
        rtwire.sync.connect(http(sse_port, "/html"), transport="sse")
    assert e.value.status == 200
    assert any(k == "content-type" and v.startswith("text/html") for k, v in e.value.headers)

    async def main() -> None:
        with pytest.raises(rtwire.HandshakeError):
            await rtwire.connect(http(sse_port, "/html"), transport="sse")

    run(main())


def test_headers_and_send_via_send_url(fresh_sse_port: int) -> None:
    conn = rtwire.sync.connect(
        http(fresh_sse_port, "/headers"),
        transport="sse",
        headers={"X-Probe": "yes"},
        send_url=http(fresh_sse_port, "/send"),
        reconnect=rtwire.Reconnect(initial_delay=0.2, max_delay=0.5),
    )
    seen = json.loads(str(conn.recv(timeout=5)))
    assert seen["x-probe"] == "yes"
    assert seen["accept"] == "text/event-stream"
    conn.send("hello")
    conn.send(b"\x01\x02")
    conn.send("world")
    deadline = time.monotonic() + 10
    sent: List[Dict[str, str]] = []
    while time.monotonic() < deadline:
        sent = peer_stats(fresh_sse_port)["sent"]
        if len(sent) >= 3:
            break
        time.sleep(0.05)
    conn.close()
    assert [s["body"] for s in sent] == ["hello", "\x01\x02", "world"]
    assert sent[0]["type"].startswith("text/plain")
    assert sent[1]["type"] == "application/octet-stream"


def test_send_without_send_url_is_unsupported(sse_port: int) -> None:
    with rtwire.sync.connect(http(sse_port, "/headers"), transport="sse") as conn:
        with pytest.raises(rtwire.UnsupportedError) as e:
            conn.send("x")
        assert e.value.unsent == ["x"]


def test_gzip_and_redirect(sse_port: int) -> None:
    with rtwire.sync.connect(http(sse_port, "/gzip"), transport="sse", reconnect=False) as conn:
        assert [conn.recv(timeout=5) for _ in range(3)] == [f"zipped {i}" for i in range(1, 4)]
    target = http(sse_port, "/events?total=1&per_conn=1")
    url = http(sse_port, "/redirect?to=" + urllib.request.quote(target, safe=""))
    with pytest.raises(rtwire.Error):
        # Redirects off: the 302 itself is refused.
        rtwire.sync.connect(url, transport="sse", max_redirects=0, reconnect=False)
    with rtwire.sync.connect(url, transport="sse", reconnect=False) as conn:
        assert conn.recv(timeout=5) == "event 1"


def test_max_line_limits_sse_lines(sse_port: int) -> None:
    conn = rtwire.sync.connect(http(sse_port, "/events?total=1&per_conn=1"), transport="sse", max_line=4, reconnect=False)
    errors = [e.error for e in conn.events(timeout=5) if isinstance(e, rtwire.ErrorEvent)]
    conn.close()
    assert errors and isinstance(errors[0], rtwire.TooLargeError)


# -- arguments ----------------------------------------------------------------


def test_transport_names() -> None:
    for name in rtwire.TRANSPORTS + ("LONG_POLL",):
        rtwire.connect("http://127.0.0.1:1/", transport=name)
    with pytest.raises(ValueError, match="transport"):
        rtwire.connect("http://127.0.0.1:1/", transport="carrier-pigeon")
    with pytest.raises(TypeError, match="transport"):
        rtwire.connect("http://127.0.0.1:1/", transport=1)  # type: ignore[arg-type]


def test_cursor() -> None:
    c = rtwire.Cursor(header="X-Cursor")
    assert (c.header, c.json_field, c.query, c.send_header, c.initial) == ("X-Cursor", None, "cursor", None, None)
    d = rtwire.Cursor(json_field="next", send_header="X-Since", initial="0")
    assert (d.header, d.json_field, d.query, d.send_header, d.initial) == (None, "next", None, "X-Since", "0")
    assert rtwire.Cursor(json_field="cursor", query="since").query == "since"
    assert repr(d) == "Cursor(json_field='next', send_header='X-Since', initial='0')"
    assert c == rtwire.Cursor(header="X-Cursor") and c != d
    for kwargs, exc, word in (
        ({}, TypeError, "header"),
        ({"header": "a", "json_field": "b"}, TypeError, "not both"),
        ({"header": "a", "query": "q", "send_header": "h"}, TypeError, "not both"),
        ({"header": "bad name"}, ValueError, "header"),
        ({"header": 1}, TypeError, "header"),
        ({"json_field": ""}, ValueError, "json_field"),
        ({"json_field": "c", "query": ""}, ValueError, "query"),
        ({"json_field": "c", "send_header": "x:y"}, ValueError, "send_header"),
        ({"json_field": "c", "initial": "a\nb"}, ValueError, "initial"),
        ({"json_field": "c", "initial": 5}, TypeError, "initial"),
    ):
        with pytest.raises(exc, match=word):
            rtwire.Cursor(**kwargs)
    with pytest.raises(TypeError):
        rtwire.Cursor("X-Cursor")  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"send_url": 1}, TypeError, "send_url"),
        ({"last_event_id": 7}, TypeError, "last_event_id"),
        ({"last_event_id": "a\nb"}, ValueError, "last_event_id"),
        ({"read_timeout": 0}, ValueError, "read_timeout"),
        ({"read_timeout": "1"}, TypeError, "read_timeout"),
        ({"poll_interval": -1}, ValueError, "poll_interval"),
        ({"poll_interval": math.inf}, ValueError, "poll_interval"),
        ({"long_poll_timeout": 0.0}, ValueError, "long_poll_timeout"),
        ({"long_poll_post": 1}, TypeError, "long_poll_post"),
        ({"json_array": "yes"}, TypeError, "json_array"),
        ({"cursor": "cursor"}, TypeError, "cursor"),
        ({"framing": "xml"}, ValueError, "framing"),
        ({"framing": 1}, TypeError, "framing"),
        ({"max_line": 0}, ValueError, "max_line"),
        ({"max_line": 1.5}, rtwire.InvalidArgumentError, "max_line"),
        ({"retry_server_errors": "yes"}, TypeError, "retry_server_errors"),
        ({"max_redirects": -1}, ValueError, "max_redirects"),
        ({"max_redirects": True}, TypeError, "max_redirects"),
        ({"rtwire_protocol": 1}, TypeError, "rtwire_protocol"),
    ],
)
def test_http_argument_checks(kwargs: Dict[str, Any], exc: type, word: str) -> None:
    with pytest.raises(exc, match=word):
        rtwire.connect("http://127.0.0.1:1/", **kwargs)
    with pytest.raises(exc, match=word):
        rtwire.sync.connect("http://127.0.0.1:1/", **kwargs)


def test_http_arguments_accepted() -> None:
    rtwire.connect(
        "http://127.0.0.1:1/",
        send_url="http://127.0.0.1:1/send",
        last_event_id="5",
        read_timeout=1.5,
        poll_interval=1,
        long_poll_timeout=30,
        long_poll_post=True,
        json_array=True,
        cursor=rtwire.Cursor(json_field="cursor"),
        framing="ndjson",
        max_line=10,
        retry_server_errors=True,
        max_redirects=0,
        rtwire_protocol=True,
    )
    for f in ("lines", "ndjson", "chunks"):
        rtwire.connect("http://127.0.0.1:1/", framing=f)


def test_retry_server_errors_retries_5xx(fresh_sse_port: int) -> None:
    policy = rtwire.Reconnect(initial_delay=0.01, max_delay=0.02, max_attempts=2, retry_initial=True)

    async def main() -> None:
        with pytest.raises(rtwire.Error):
            await rtwire.connect(http(fresh_sse_port, "/status/503"), transport="sse", retry_server_errors=True, reconnect=policy)

    run(main())
    # The first attempt and two retries reached the server.
    assert len(peer_stats(fresh_sse_port)["times"]["/status/503"]) == 3
