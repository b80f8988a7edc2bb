"""The chat example in a real browser: examples/python/chat_server.py serves
examples/web/chat.html, which headless Chromium (Debian's, driven by
Playwright) opens, next to Python clients in the same room and in another.

    ./scripts/test-browser.sh        # installs Chromium and Playwright, then runs this

The page follows the room over its WebSocket (#ws), an EventSource on the
room's log channel (#sse) and a fetch long-poll loop on it (#poll).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import rtwire.sync
import websockets.sync.client

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "examples" / "python" / "chat_server.py"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "s3cret"
WAIT_MS = 10_000  # every Playwright wait
WAIT_S = 5.0  # every Python client receive


def _read_port(proc: "subprocess.Popen[str]", limit: float = 20.0) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("PORT "):
                return int(line.split()[1])
            if not line:
                break
        if proc.poll() is not None:
            break
    proc.kill()
    proc.wait(5)
    pytest.fail(f"chat server printed no PORT line (exit {proc.returncode})")


@pytest.fixture(scope="module")
def server() -> Iterator["subprocess.Popen[str]"]:
    env = dict(os.environ, CHAT_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "0"], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    proc.port = _read_port(proc)  # type: ignore[attr-defined]
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium, "
            "as scripts/test-browser.sh does)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        pytest.fail(f"Playwright for Python is missing ({e}): scripts/test-browser.sh installs it")
    with sync_playwright() as p:
        # As root, Chromium only starts without its sandbox.
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"], timeout=WAIT_MS
        )
        try:
            yield b
        finally:
            b.close()


class Page:
    """One browser tab on the chat page, with what its script reported."""

    def __init__(self, browser: Any, port: int, query: str) -> None:
        self.context = browser.new_context()
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.errors: List[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"http://127.0.0.1:{port}/?{query}", timeout=WAIT_MS)

    def lines(self, list_id: str) -> List[str]:
        texts: List[str] = self.page.eval_on_selector_all(
            f"#{list_id} li:not(.note)", "items => items.map(li => li.textContent)"
        )
        return texts

    def notes(self, list_id: str) -> List[str]:
        texts: List[str] = self.page.eval_on_selector_all(
            f"#{list_id} li.note", "items => items.map(li => li.textContent)"
        )
        return texts

    def wait_line(self, list_id: str, text: str) -> None:
        """Waits (bounded) until the list #list_id shows the line `text`."""
        try:
            self.page.wait_for_function(
                """([id, text]) => [...document.querySelectorAll('#' + id + ' li')]
                                       .some(li => li.textContent === text)""",
                arg=[list_id, text],
                timeout=WAIT_MS,
            )
        except Exception as e:  # playwright's TimeoutError
            raise AssertionError(
                f"#{list_id} never showed {text!r}; it shows {self.lines(list_id)!r} "
                f"(status {self.status()!r}, page errors {self.errors!r})"
            ) from e

    def wait_data(self, key: str, value: str) -> None:
        try:
            self.page.wait_for_function(
                "([k, v]) => document.body.dataset[k] === v", arg=[key, value], timeout=WAIT_MS
            )
        except Exception as e:
            raise AssertionError(
                f"body[data-{key}] never became {value!r} (it is {self.data(key)!r}, "
                f"status {self.status()!r}, page errors {self.errors!r})"
            ) from e

    def data(self, key: str) -> Any:
        return self.page.evaluate("k => document.body.dataset[k]", key)

    def status(self) -> str:
        text: str = self.page.text_content("#status") or ""
        return text

    def close(self) -> None:
        self.context.close()


def _chat_url(port: int, room: str, name: str) -> str:
    return f"ws://127.0.0.1:{port}/chat?room={room}&name={name}&token={TOKEN}"


def _in_order(seen: List[str], wanted: List[str]) -> List[str]:
    return [line for line in seen if line in wanted]


def test_chat_page_with_python_clients(server: Any, browser: Any) -> None:
    port = server.port
    page = Page(browser, port, f"room=lobby&name=browser&token={TOKEN}")
    try:
        page.wait_data("state", "open")
        page.wait_line("ws", "welcome browser to lobby")
        # Both log readers are subscribed before anyone else speaks.
        page.wait_data("sse", "open")
        page.wait_data("poll", "ready")

        # A client in another room, which must never hear the lobby.
        with websockets.sync.client.connect(
            _chat_url(port, "other", "outsider"), open_timeout=WAIT_S
        ) as outsider:
            assert outsider.recv(timeout=WAIT_S) == "welcome outsider to other"

            with rtwire.sync.connect(_chat_url(port, "lobby", "py"), reconnect=False) as py:
                assert py.recv(timeout=WAIT_S) == "welcome py to lobby"
                page.wait_line("ws", "py joined")

                py.send("hello from python")
                page.wait_line("ws", "py: hello from python")

                page.page.fill("#line", "hello from the browser")
                page.page.click("#say button[type=submit]")
                assert py.recv(timeout=WAIT_S) == "browser: hello from the browser"
                assert page.page.input_value("#line") == ""

                py.send("/who")
                assert py.recv(timeout=WAIT_S) == "members lobby: 2"

                # The room's log, over SSE and long polling, in order.
                said = ["py joined", "py: hello from python", "browser: hello from the browser"]
                for list_id in ("sse", "poll"):
                    for line in said:
                        page.wait_line(list_id, line)
                    assert _in_order(page.lines(list_id), said) == said, list_id

                # The page's WebSocket got what the room said to it, nothing
                # else: never its own line back, nothing from room "other".
                assert page.lines("ws") == [
                    "welcome browser to lobby",
                    "py joined",
                    "py: hello from python",
                ]
            page.wait_line("ws", "py left")
            page.wait_line("sse", "py left")
            page.wait_line("poll", "py left")

            # The outsider's next message is the answer to /who: no lobby line
            # reached room "other".
            outsider.send("/who")
            assert outsider.recv(timeout=WAIT_S) == "members other: 1"
        assert page.errors == []
        assert page.data("state") == "open"
    finally:
        page.close()


def test_chat_page_compresses_with_permessage_deflate(server: Any, browser: Any) -> None:
    """The chat server accepts permessage-deflate, which Chromium offers on
    every WebSocket: the page's socket reports it, and long (compressed)
    lines cross both ways intact, to and from a Python client that
    negotiated it too."""
    port = server.port
    page = Page(browser, port, f"room=zip&name=browser&token={TOKEN}")
    try:
        page.wait_data("state", "open")
        page.wait_line("ws", "welcome browser to zip")
        extensions = page.data("extensions")
        assert extensions.startswith("permessage-deflate"), extensions

        with websockets.sync.client.connect(
            _chat_url(port, "zip", "py"), open_timeout=WAIT_S, max_size=2**20
        ) as py:
            agreed = [e.name for e in py.protocol.extensions]
            assert agreed == ["permessage-deflate"], agreed
            assert py.recv(timeout=WAIT_S) == "welcome py to zip"
            page.wait_line("ws", "py joined")

            # Far above the 128-byte threshold, and very compressible.
            down = "to the browser " * 2000
            py.send(down)
            page.wait_line("ws", f"py: {down}")

            up = "from the browser " * 2000
            page.page.fill("#line", up)
            page.page.click("#say button[type=submit]")
            assert py.recv(timeout=WAIT_S) == f"browser: {up}"
        assert page.errors == []
    finally:
        page.close()


def test_chat_page_over_eventsource_and_fetch_post(server: Any, browser: Any) -> None:
    """The same route without WebSocket: the browser's EventSource down,
    fetch POST up, next to a python `websockets` client in the room."""
    port = server.port
    page = Page(browser, port, f"room=sse-room&name=es&token={TOKEN}&via=sse")
    try:
        page.wait_data("state", "open")
        page.wait_line("ws", "welcome es to sse-room")
        with websockets.sync.client.connect(
            _chat_url(port, "sse-room", "py"), open_timeout=WAIT_S
        ) as py:
            assert py.recv(timeout=WAIT_S) == "welcome py to sse-room"
            page.wait_line("ws", "py joined")
            py.send("hello over sse")
            page.wait_line("ws", "py: hello over sse")
            page.page.fill("#line", "hello by POST")
            page.page.click("#say button[type=submit]")
            assert py.recv(timeout=WAIT_S) == "es: hello by POST"
            py.send("/who")
            assert py.recv(timeout=WAIT_S) == "members sse-room: 2"
        page.wait_line("ws", "py left")
        assert page.lines("ws") == [
            "welcome es to sse-room",
            "py joined",
            "py: hello over sse",
            "py left",
        ]
        assert "(sse)" in page.status()
        assert page.errors == []
    finally:
        page.close()


def test_page_with_a_wrong_token_never_opens(server: Any, browser: Any) -> None:
    port = server.port
    with rtwire.sync.connect(_chat_url(port, "guarded", "py"), reconnect=False) as py:
        assert py.recv(timeout=WAIT_S) == "welcome py to guarded"
        page = Page(browser, port, "room=guarded&name=intruder&token=wrong")
        try:
            page.wait_data("state", "closed")
            # The channel paths refuse the same token, with the chat server's 401.
            page.wait_line("poll", "long poll refused: 401 bad token")
            page.wait_data("sse", "closed")
            assert page.lines("ws") == []
            assert "close 1006" in page.status()
            assert page.errors == []
        finally:
            page.close()
        # Over EventSource the refusal closes it too, before any session.
        page = Page(browser, port, "room=guarded&name=intruder&token=wrong&via=sse")
        try:
            page.wait_data("state", "closed")
            assert page.lines("ws") == []
        finally:
            page.close()
        # The server admitted no member: py's next message is the /who
        # answer (no "intruder joined" before it), and py is alone.
        py.send("/who")
        assert py.recv(timeout=WAIT_S) == "members guarded: 1"


def test_server_stops_on_sigterm(server: Any) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail("chat server still running 10 s after SIGTERM")
    assert code == 0
