"""examples/python, run against the echo peer."""

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
