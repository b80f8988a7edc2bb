"""WebSocket client peer built on the third-party `websockets` library.

    ws_client.py URL [--expect N] [--send TEXT]... [--send-hex HEX]...
                     [--subprotocol P] [--timeout S]

Connects to URL and prints one JSON object per line on stdout:

- ``{"event": "open", "subprotocol": P, "extensions": E}`` once the handshake is done
  (E: the negotiated Sec-WebSocket-Extensions, "" for none)
- ``{"event": "text", "data": "..."}`` / ``{"event": "binary", "hex": "..."}``
  for every message received
- ``{"event": "close", "code": C, "reason": "..."}`` when the server closes
- ``{"event": "timeout"}`` when ``--timeout`` seconds (default 10) pass first
- ``{"event": "error", "error": "..."}`` when the connection fails

After the open line it sends every ``--send`` (text) and ``--send-hex``
(binary) message in order, then reads until it has ``--expect`` messages
(default: until the server closes), closes normally and exits. It always
exits by itself: at the latest after the timeout.
"""

import argparse
import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def run(args):
    subprotocols = [args.subprotocol] if args.subprotocol else None
    async with connect(
        args.url,
        subprotocols=subprotocols,
        max_size=64 * 1024 * 1024,
        ping_interval=None,
        open_timeout=args.timeout,
    ) as ws:
        emit({"event": "open", "subprotocol": ws.subprotocol, "extensions": ws.response.headers.get("Sec-WebSocket-Extensions", "")})
        for text in args.send:
            await ws.send(text)
        for hexdata in args.send_hex:
            await ws.send(bytes.fromhex(hexdata))
        got = 0
        try:
            while args.expect is None or got < args.expect:
                message = await ws.recv()
                got += 1
                if isinstance(message, str):
                    emit({"event": "text", "data": message})
                else:
                    emit({"event": "binary", "hex": message.hex()})
            await ws.close()
            emit({"event": "close", "code": ws.close_code, "reason": ws.close_reason})
        except ConnectionClosed as e:
            rcvd = e.rcvd
            emit(
                {
                    "event": "close",
                    "code": rcvd.code if rcvd else None,
                    "reason": rcvd.reason if rcvd else None,
                }
            )


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--expect", type=int, default=None)
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--send-hex", action="append", default=[])
    ap.add_argument("--subprotocol", default=None)
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    try:
        await asyncio.wait_for(run(args), timeout=args.timeout)
    except asyncio.TimeoutError:
        emit({"event": "timeout"})
    except Exception as e:  # reported to the test, which decides
        emit({"event": "error", "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    asyncio.run(main())
