#!/usr/bin/env python3
"""Checks a chat server against the chat protocol of examples/README.md,
with the third-party python ``websockets`` client and plain HTTP.

    .venv/bin/python tests/chat/chat_check.py [--cwd DIR] -- CMD [ARGS...]

Starts ``CMD ARGS`` (which must print ``PORT <n>`` within 20 s), then
checks: a wrong or missing token is refused with 401 and the body ``bad
token``; ``Authorization: Bearer`` is accepted as the token; greetings
(``welcome N to R``, ``N joined``); relaying (``N: T``) never back to the
sender nor into another room; ``/who`` answered to the sender only;
departures (``N left``); the room's log channel ``log-R`` by long polling,
when the server offers it; SIGTERM closes the clients with 1001 and the
server exits 0. Every wait is bounded; the server is killed if it
outlives the check. Exits 0 when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import List, Optional, Tuple

import websockets
from websockets.exceptions import InvalidStatus

TOKEN = os.environ.get("CHAT_TOKEN", "s3cret")
STEP = 5.0  # seconds any one message may take


class Failed(Exception):
    pass


def expect(what: str, got: object, want: object) -> None:
    if got != want:
        raise Failed(f"{what}: got {got!r}, want {want!r}")
    print(f"ok    {what}")


def start(cmd: List[str], cwd: Optional[str]) -> Tuple[subprocess.Popen, int]:
    """Starts the server; returns it and its port once it printed it."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    found: List[int] = []

    def read() -> None:
        assert proc.stdout is not None
        for _ in range(1000):
            line = proc.stdout.readline()
            if not line:
                return
            if line.startswith("PORT "):
                found.append(int(line.split()[1]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)
    if not found:
        proc.kill()
        proc.wait(5)
        raise Failed(f"{cmd[0]} printed no PORT line within 20 s")
    return proc, found[0]


async def refused(port: int, query: str, headers: Optional[dict] = None) -> Tuple[int, str]:
    """The status and body of an upgrade the server refuses."""
    url = f"ws://127.0.0.1:{port}/chat?{query}"
    try:
        ws = await asyncio.wait_for(
            websockets.connect(url, additional_headers=headers, open_timeout=STEP), STEP * 2
        )
    except InvalidStatus as e:
        body = e.response.body or b""
        return e.response.status_code, body.decode("utf-8", "replace")
    await ws.close()
    raise Failed(f"the upgrade of {query!r} was accepted")


async def join(port: int, query: str, headers: Optional[dict] = None):
    url = f"ws://127.0.0.1:{port}/chat?{query}"
    return await asyncio.wait_for(
        websockets.connect(url, additional_headers=headers, open_timeout=STEP), STEP * 2
    )


async def recv(ws, who: str) -> str:
    try:
        msg = await asyncio.wait_for(ws.recv(), STEP)
    except asyncio.TimeoutError:
        raise Failed(f"{who}: no message within {STEP} s") from None
    return msg if isinstance(msg, str) else msg.decode("utf-8", "replace")


def get(url: str) -> Tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=STEP) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


async def closed(ws, who: str) -> Optional[int]:
    try:
        await asyncio.wait_for(ws.wait_closed(), 10)
    except asyncio.TimeoutError:
        raise Failed(f"{who} was not closed within 10 s") from None
    return ws.close_code


async def check(proc: subprocess.Popen, port: int) -> None:
    t = TOKEN
    expect("wrong token: 401 and its body", await refused(port, "room=lobby&name=x&token=wrong"), (401, "bad token"))
    expect("no token: 401 and its body", await refused(port, "room=lobby&name=x"), (401, "bad token"))

    dee = await join(port, "room=bearer&name=dee", {"Authorization": f"Bearer {t}"})
    expect("the token as Authorization: Bearer", await recv(dee, "dee"), "welcome dee to bearer")
    await asyncio.wait_for(dee.close(1000), STEP)

    ada = await join(port, f"room=lobby&name=ada&token={t}")
    expect("ada is welcomed", await recv(ada, "ada"), "welcome ada to lobby")
    bob = await join(port, f"room=lobby&name=bob&token={t}")
    expect("bob is welcomed", await recv(bob, "bob"), "welcome bob to lobby")
    expect("ada hears bob join", await recv(ada, "ada"), "bob joined")
    cy = await join(port, f"room=other&name=cy&token={t}")
    expect("cy is welcomed to another room", await recv(cy, "cy"), "welcome cy to other")

    await ada.send("hello")
    expect("bob hears ada", await recv(bob, "bob"), "ada: hello")
    # Room isolation: cy's next message is the answer to its own /who.
    await cy.send("/who")
    expect("cy's /who, and nothing from the lobby", await recv(cy, "cy"), "members other: 1")
    await bob.send("/who")
    expect("bob's /who", await recv(bob, "bob"), "members lobby: 2")

    await asyncio.wait_for(bob.close(1000), STEP)
    # Also: ada got neither her own line nor bob's /who answer.
    expect("ada hears bob leave (and nothing else first)", await recv(ada, "ada"), "bob left")

    status, body = await asyncio.to_thread(
        get, f"http://127.0.0.1:{port}/poll/log-lobby?cursor=none&wait=0&token={t}"
    )
    if status == 404:
        print("note  no log channel offered (404): not checked")
    else:
        expect("the log channel answers by long polling", status, 200)
        messages = json.loads(body).get("messages")
        expect("the lobby's log", messages, ["ada joined", "bob joined", "ada: hello", "bob left"])

    proc.send_signal(signal.SIGTERM)
    codes = await asyncio.gather(closed(ada, "ada"), closed(cy, "cy"))
    expect("SIGTERM closes the clients with 1001", list(codes), [1001, 1001])
    try:
        code = await asyncio.to_thread(proc.wait, 10)
    except subprocess.TimeoutExpired:
        raise Failed("the server did not exit within 10 s of SIGTERM") from None
    expect("the server exits 0", code, 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cwd", help="directory to start the server in")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no server command")
    proc = None
    try:
        proc, port = start(cmd, a.cwd)
        print(f"ok    {cmd[0]} listens on port {port}")
        asyncio.run(asyncio.wait_for(check(proc, port), 120))
    except (Failed, asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException) as e:
        print(f"FAIL  {type(e).__name__}: {e}")
        return 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
    print("chat protocol: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
