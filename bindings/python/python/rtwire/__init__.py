"""rtwire: real-time web connections (WebSocket, Server-Sent Events, long
polling, polling and HTTP streaming) on one native Rust core, and an
embedded server that publishes channels over all of them.

asyncio::

    async with rtwire.connect("wss://example.com/chat") as conn:
        await conn.send("hello")
        async for message in conn:
            print(message)

Blocking (scripts, threads)::

    with rtwire.sync.connect("wss://example.com/chat") as conn:
        conn.send("hello")
        print(conn.recv(timeout=5))

A server::

    with rtwire.serve(port=8080) as server:
        server.publish("news", "hello")

An application server (in the shape of ``websockets.serve``)::

    async def echo(conn):
        async for message in conn:
            await conn.send(message)

    async with rtwire.serve(echo, "127.0.0.1", 8765) as server:
        await server.serve_forever()
"""

import atexit as _atexit

from . import _rtwire, sync
from ._rtwire import (
    CORE_VERSION,
    ERROR_KINDS,
    TRANSPORTS,
    ChannelStats,
    ClosedEvent,
    Cursor,
    ErrorEvent,
    MessageEvent,
    OpenEvent,
    Reconnect,
    ReconnectingEvent,
    ServerStats,
    __version__,
)
from ._schema import ConnectOptions, CursorOptions, ReconnectOptions
from .client import Connection, Data, Event, connect
from .server import MessageHandler, Server, serve
from .app import Authenticate, ConnectionHandler, Headers, ProcessRequest, Request, ServerConnection, WebSocketServer
from .exceptions import (
    KIND_TO_CLASS,
    ConcurrencyError,
    ConnectError,
    ConnectionClosed,
    Error,
    HandshakeError,
    InternalError,
    InvalidArgumentError,
    InvalidUrlError,
    IoError,
    ProtocolError,
    QueueFullError,
    TimeoutError,
    TlsError,
    TooLargeError,
    UnsupportedError,
)

# Runtime threads must not enter Python while the interpreter finalizes.
_atexit.register(_rtwire._at_exit)

__all__ = [
    "__version__",
    "CORE_VERSION",
    "ERROR_KINDS",
    "TRANSPORTS",
    "connect",
    "ConnectOptions",
    "ReconnectOptions",
    "CursorOptions",
    "Connection",
    "Data",
    "Event",
    "Reconnect",
    "Cursor",
    "serve",
    "Server",
    "ServerStats",
    "ChannelStats",
    "MessageHandler",
    "WebSocketServer",
    "ServerConnection",
    "Request",
    "Headers",
    "ConnectionHandler",
    "ProcessRequest",
    "Authenticate",
    "OpenEvent",
    "MessageEvent",
    "ReconnectingEvent",
    "ErrorEvent",
    "ClosedEvent",
    "sync",
    "KIND_TO_CLASS",
    "Error",
    "InvalidUrlError",
    "InvalidArgumentError",
    "ConnectError",
    "TlsError",
    "HandshakeError",
    "ProtocolError",
    "TooLargeError",
    "TimeoutError",
    "ConnectionClosed",
    "QueueFullError",
    "UnsupportedError",
    "IoError",
    "InternalError",
    "ConcurrencyError",
]
