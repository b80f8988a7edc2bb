"""A picows server for bench/server_peers.sh: ``picows_echo.py PORT PATH``.
On 127.0.0.1:PORT, ``/echo`` sends every frame back as it comes;
``/broadcast`` sends every message to every client connected, the sender
included."""

import asyncio
import sys

from picows import WSListener, WSMsgType, ws_create_server

DATA = (WSMsgType.BINARY, WSMsgType.TEXT, WSMsgType.CONTINUATION)
MEMBERS: set = set()


class Echo(WSListener):  # type: ignore[misc]
    def on_ws_frame(self, transport, frame):  # type: ignore[no-untyped-def]
        if frame.msg_type in DATA:
            transport.send(frame.msg_type, frame.get_payload_as_bytes(), frame.fin)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


class Broadcast(WSListener):  # type: ignore[misc]
    def on_ws_connected(self, transport):  # type: ignore[no-untyped-def]
        MEMBERS.add(transport)

    def on_ws_disconnected(self, transport):  # type: ignore[no-untyped-def]
        MEMBERS.discard(transport)

    def on_ws_frame(self, transport, frame):  # type: ignore[no-untyped-def]
        if frame.msg_type in (WSMsgType.BINARY, WSMsgType.TEXT):
            payload = frame.get_payload_as_bytes()
            for member in MEMBERS:
                member.send(frame.msg_type, payload)


async def main(port: int, path: str) -> None:
    listener = Broadcast if path == "/broadcast" else Echo
    server = await ws_create_server(lambda _req: listener(), "127.0.0.1", port, max_frame_size=64 << 20)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
