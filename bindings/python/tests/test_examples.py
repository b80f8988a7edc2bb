"""examples/python, run against the echo and SSE peers."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_chat_example(echo_port: int) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "examples", "python", "chat.py"),
            f"ws://127.0.0.1:{echo_port}/echo",
            "--name",
            "alice",
            "--linger",
            "0.3",
        ],
        input="hello\nworld\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["< alice: hello", "< alice: world"]
    assert "via websocket (chat.v1)" in proc.stderr
    assert "* closed 1000 bye" in proc.stderr


def test_chat_example_connect_error() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "python", "chat.py"), f"ws://127.0.0.1:{port}/"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert "(connect)" in proc.stderr


def test_sse_listen_example_resumes(fresh_sse_port: int) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "examples", "python", "sse_listen.py"),
            f"http://127.0.0.1:{fresh_sse_port}/events?total=6&per_conn=2",
            "--retry-delay",
            "0.02",
            "--idle",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    want = [f"{i}\t{'tick' if i % 3 == 0 else 'message'}\tevent {i}" for i in range(1, 7)]
    assert proc.stdout.splitlines() == want
    assert proc.stderr.count("* connected to") == 3
    assert "(204)" in proc.stderr
    assert "* last id: 6" in proc.stderr


def test_sse_listen_example_continues_from_an_id(sse_port: int) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "examples", "python", "sse_listen.py"),
            f"http://127.0.0.1:{sse_port}/events?total=6&per_conn=10",
            "--last-event-id",
            "4",
            "--count",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["5", "6"]
    assert "* last id: 6" in proc.stderr


def test_sse_listen_example_refused(sse_port: int) -> None:
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "python", "sse_listen.py"), f"http://127.0.0.1:{sse_port}/html"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "refused: HTTP 200 (handshake)" in proc.stderr
