"""The blocking API: threads, timeouts, Ctrl-C."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, List

import pytest

import rtwire


def test_echo_and_iteration(echo_url: str) -> None:
    with rtwire.sync.connect(echo_url) as conn:
        assert conn.transport == "websocket"
        conn.send("a")
        conn.send(b"b")
        assert conn.recv(timeout=5) == "a"
        assert conn.recv(timeout=5) == b"b"
        conn.send("c")
        for m in conn:
            assert m == "c"
            break
        types = []
        conn.send("d")
        for ev in conn.events(timeout=5):
            types.append(ev.type)
            if ev.type == "message":
                break
        assert types == ["message"]
    assert conn.closed and conn.close_code == 1000
    with pytest.raises(rtwire.ConnectionClosed):
        conn.recv(timeout=1)
    with pytest.raises(rtwire.ConnectionClosed):
        conn.send("late")


def test_recv_timeout(echo_url: str) -> None:
    with rtwire.sync.connect(echo_url) as conn:
        t = time.monotonic()
        with pytest.raises(rtwire.TimeoutError):
            conn.recv(timeout=0.2)
        assert 0.15 < time.monotonic() - t < 2
        with pytest.raises(TimeoutError):
            conn.recv(timeout=0)
        for bad, exc in (("1", TypeError), (True, TypeError), (-1, ValueError), (math.nan, ValueError), (math.inf, ValueError)):
            with pytest.raises(exc, match="timeout"):
                conn.recv(timeout=bad)
        # Still usable after a timeout.
        conn.send("after")
        assert conn.recv(timeout=5) == "after"


def test_server_close_in_iteration(echo_port: int) -> None:
    conn = rtwire.sync.connect(f"ws://127.0.0.1:{echo_port}/close?code=4003&reason=x", reconnect=False)
    with pytest.raises(rtwire.ConnectionClosed) as e:
        for _ in conn:
            pass
    assert e.value.code == 4003 and e.value.reason == "x"
    conn.close()


def test_threads_own_connections(echo_url: str) -> None:
    errors: List[BaseException] = []

    def worker(i: int) -> None:
        try:
            with rtwire.sync.connect(echo_url) as conn:
                for j in range(50):
                    conn.send(f"{i}-{j}")
                    assert conn.recv(timeout=10) == f"{i}-{j}"
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)


def test_shared_connection_senders_and_one_reader(echo_url: str) -> None:
    with rtwire.sync.connect(echo_url) as conn:
        n, k = 4, 100

        def sender(i: int) -> None:
            for j in range(k):
                conn.send(f"{i}:{j}")

        threads = [threading.Thread(target=sender, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        got = [conn.recv(timeout=10) for _ in range(n * k)]
        for t in threads:
            t.join(10)
        for i in range(n):  # each sender's messages arrive in its order
            mine = [m for m in got if isinstance(m, str) and m.startswith(f"{i}:")]
            assert mine == [f"{i}:{j}" for j in range(k)]

        # A second concurrent reader is refused.
        started = threading.Event()
        result: List[Any] = []

        def reader() -> None:
            started.set()
            try:
                result.append(conn.recv(timeout=3))
            except BaseException as e:
                result.append(e)

        t = threading.Thread(target=reader)
        t.start()
        started.wait()
        time.sleep(0.2)
        with pytest.raises(rtwire.ConcurrencyError):
            conn.recv(timeout=1)
        conn.send("for the reader")
        t.join(10)
        assert result == ["for the reader"]


def test_ctrl_c_interrupts_blocking_recv(echo_url: str) -> None:
    code = textwrap.dedent(
        f"""
        import signal, sys, time, rtwire
        # A child of a background job inherits SIGINT ignored; Ctrl-C is
        # what is tested, so restore Python's handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        conn = rtwire.sync.connect({echo_url!r})
        print("ready", flush=True)
        try:
            conn.recv()
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
            conn.send("still usable")
            print(conn.recv(timeout=5), flush=True)
            conn.close()
            sys.exit(3)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let it block in recv
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err
    lines = out.split("\n")
    assert lines[0].startswith("interrupted"), out
    latency = float(lines[0].split()[1]) - sent
    assert latency < 0.5, f"KeyboardInterrupt took {latency:.3f} s"
    assert lines[1] == "still usable"


def test_ctrl_c_interrupts_blocking_connect() -> None:
    code = textwrap.dedent(
        """
        import signal, socket, sys, time, rtwire
        signal.signal(signal.SIGINT, signal.default_int_handler)
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
        print("ready", flush=True)
        try:
            rtwire.sync.connect(f"ws://127.0.0.1:{s.getsockname()[1]}/", open_timeout=30)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
            sys.exit(3)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3
    assert float(out.split()[1]) - sent < 0.5


def test_exit_with_open_connections(echo_url: str) -> None:
    code = textwrap.dedent(
        f"""
        import asyncio, threading, rtwire
        kept = []
        async def main():
            for _ in range(5):
                c = await rtwire.connect({echo_url!r})
                await c.send("x")
                kept.append(c)
        asyncio.run(main())
        for _ in range(3):
            s = rtwire.sync.connect({echo_url!r})
            s.send(b"y")
            kept.append(s)
        t = threading.Thread(target=lambda: kept[-1].recv(timeout=5), daemon=True)
        t.start()
        print("bye", flush=True)
        """
    )
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-W", "ignore::ResourceWarning", "-c", code],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "bye\n"
