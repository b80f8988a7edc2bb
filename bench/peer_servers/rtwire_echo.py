"""rtwire's Python application server for bench/server_peers.sh:
``rtwire_echo.py PORT PATH``. On 127.0.0.1:PORT, PATH ``/echo`` sends every
message back; ``/broadcast`` puts every client in one room and sends every
message to the whole room (``server.broadcast``), the sender included. An
application server serves one path, so the script starts one per path."""

import asyncio
import sys

import rtwire


async def echo(conn: rtwire.ServerConnection) -> None:
    async for message in conn:
        await conn.send(message)


async def broadcast(conn: rtwire.ServerConnection) -> None:
    conn.join("all")
    async for message in conn:
        conn.server.broadcast("all", message)


async def main(port: int, path: str) -> None:
    handler = broadcast if path == "/broadcast" else echo
    async with rtwire.serve(handler, "127.0.0.1", port, path=path, max_message_size=64 << 20) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
