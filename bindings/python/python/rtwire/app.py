"""The application server: ``rtwire.serve(handler, host, port)``.

In the shape of ``websockets.serve``: every WebSocket client that opens
``path`` gets a :class:`rtwire.Connection` of its own (the class a client
gets from :func:`rtwire.connect`), with the client's :class:`Request` in
``conn.request``, and ``handler(conn)`` runs as a task on the event loop
that started the server. The connections themselves run on the package's
native runtime; the loop only reads and writes them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)
from urllib.parse import parse_qs

from . import _rtwire
from .client import Connection
from ._schema import Unpack
from .server import Server, ServeOptions, server_options

__all__ = [
    "serve_app",
    "WebSocketServer",
    "ServerConnection",
    "Request",
    "Headers",
    "ConnectionHandler",
    "ProcessRequest",
    "Authenticate",
]

logger = logging.getLogger("rtwire.server")

ConnectionHandler = Callable[["ServerConnection"], Awaitable[None]]
"""An application handler: ``async def handler(conn)``."""

_Refusal = Optional[Tuple[int, str]]

ProcessRequest = Callable[["Request"], Union[_Refusal, Awaitable[_Refusal]]]
"""A ``process_request`` hook: ``(request)`` → ``None`` to accept, or
``(status, body)`` to refuse; plain or ``async``."""

Authenticate = Callable[["Request"], Any]
"""An ``authenticate`` hook: ``(request)`` → the user (any value but
``None``, ``False`` or a ``(status, body)`` tuple) to accept, which the
handler finds in ``conn.request.user``; ``None`` or ``False`` to refuse
with 401; ``(status, body)`` to refuse with those. Plain or ``async``."""

# How long a user an `authenticate` hook attached waits for its connection
# (the upgrade after the hook can still fail) before it is dropped.
_USER_WAIT = 60.0

_RequestTuple = Tuple[int, Tuple[str, int], str, str, List[Tuple[str, str]], Optional[str]]

# How long `wait_closed` leaves handlers to finish once their connections are
# over, before cancelling them.
_HANDLER_GRACE = 5.0


class Headers(Mapping[str, str]):
    """Request headers: a read-only mapping with case-insensitive names
    (``headers["User-Agent"]`` is the first value), plus :meth:`get_all`
    and :meth:`raw_items` for repeated headers."""

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[Tuple[str, str]]) -> None:
        self._items: List[Tuple[str, str]] = [(k.lower(), v) for k, v in items]

    def __getitem__(self, name: str) -> str:
        key = name.lower()
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        seen: Set[str] = set()
        for k, _ in self._items:
            if k not in seen:
                seen.add(k)
                yield k

    def __len__(self) -> int:
        return len({k for k, _ in self._items})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == name.lower() for k, _ in self._items)

    def get_all(self, name: str) -> List[str]:
        """Every value of header ``name``, in the order sent."""
        key = name.lower()
        return [v for k, v in self._items if k == key]

    def raw_items(self) -> List[Tuple[str, str]]:
        """``(name, value)`` pairs as sent (names in lower case)."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Request:
    """What a client asked for when it opened its connection."""

    __slots__ = ("id", "peer", "path", "query", "headers", "protocol", "user")

    def __init__(self, raw: _RequestTuple) -> None:
        self.id: int = raw[0]
        """The server's id for the connection, unique while it runs."""
        self.peer: Tuple[str, int] = raw[1]
        """The client's address: ``(host, port)``."""
        self.path: str = raw[2]
        """The request path."""
        self.query: str = raw[3]
        """The query string without ``?`` (``""`` when there is none)."""
        self.headers: Headers = Headers(raw[4])
        """The request headers."""
        self.protocol: Optional[str] = raw[5]
        """The subprotocol chosen (one the client offered and the server
        accepts), or ``None``."""
        self.user: Any = None
        """What the ``authenticate`` hook answered for this client
        (``None`` without one)."""

    @property
    def params(self) -> Dict[str, List[str]]:
        """The query parameters, decoded: name → values."""
        return parse_qs(self.query, keep_blank_values=True)

    def query_param(self, name: str) -> Optional[str]:
        """The first value of query parameter ``name``, decoded, or ``None``."""
        values = self.params.get(name)
        return values[0] if values else None

    def __repr__(self) -> str:
        q = f"?{self.query}" if self.query else ""
        return f"<rtwire.Request #{self.id} {self.path}{q} from {self.peer[0]}:{self.peer[1]}>"


class ServerConnection(Connection):
    """A connection an application server hands to its handler: a
    :class:`rtwire.Connection` (``recv``, ``async for``, ``send``,
    ``close``) with the client's :attr:`request`, an :attr:`id`, and
    rooms (:meth:`join`, :meth:`leave`, :attr:`rooms`; broadcast with
    :meth:`WebSocketServer.broadcast`)."""

    request: "Request"

    def __init__(
        self,
        native: _rtwire.Connection,
        loop: asyncio.AbstractEventLoop,
        request: "Request",
        server: "WebSocketServer",
    ) -> None:
        super().__init__(native, loop)
        self.request = request
        self._server_ref = weakref.ref(server)

    @property
    def id(self) -> int:
        """The server's id for this connection (``request.id``)."""
        return self.request.id

    @property
    def server(self) -> "WebSocketServer":
        """The server this connection belongs to."""
        server = self._server_ref()
        if server is None:
            raise RuntimeError("the server is gone")
        return server

    def join(self, room: str) -> bool:
        """Adds this connection to ``room`` (1 to 256 bytes of text):
        ``True`` when it was not in it yet, ``False`` when it was or the
        connection is over. It leaves every room when it ends."""
        return self.server._native.join(self.id, room)

    def leave(self, room: str) -> bool:
        """Takes this connection out of ``room``: ``True`` when it was in
        it (``False`` too once the connection is over)."""
        return self.server._native.leave(self.id, room)

    @property
    def rooms(self) -> List[str]:
        """The rooms this connection is in, sorted."""
        return self.server._native.rooms_of(self.id)


class WebSocketServer(Server):
    """A running application server, returned by :func:`rtwire.serve` when
    given a handler. The channel API of :class:`rtwire.Server` works on it
    too (its channel paths are served as well).

    Leave ``async with`` (or ``server.close()`` then ``await
    server.wait_closed()``) to shut it down: clients get close 1001.
    """

    def __init__(
        self,
        native: _rtwire.Server,
        handler: ConnectionHandler,
        loop: asyncio.AbstractEventLoop,
        path: str,
        process_request: Optional[ProcessRequest],
        authenticate: Optional[Authenticate] = None,
    ) -> None:
        super().__init__(native)
        self._handler = handler
        self._loop = loop
        self._path = path
        self._process_request = process_request
        self._authenticate = authenticate
        # Request id -> (user, when): what `authenticate` attached, until
        # the connection opens.
        self._users: Dict[int, Tuple[Any, float]] = {}
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._closing: Optional[asyncio.Future[None]] = None
        self._stopped: asyncio.Future[None] = loop.create_future()

    @property
    def path(self) -> str:
        """The path the handler serves."""
        return self._path

    @property
    def ws_url(self) -> str:
        """``ws://host:port/path`` (``wss://`` with TLS)."""
        base = self.url
        scheme = "wss" if base.startswith("https:") else "ws"
        return scheme + base[base.index(":"):] + self._path

    # -- from the native side (on the loop's thread) ------------------------

    # -- rooms ----------------------------------------------------------------

    def broadcast(
        self,
        room: Optional[str],
        message: Union[str, bytes, bytearray, memoryview],
        exclude: "Union[None, ServerConnection, int, Sequence[Union[ServerConnection, int]]]" = None,
    ) -> int:
        """Sends ``message`` (``str``: text, bytes-like: binary) to the
        members of ``room`` (every connection of the server with ``None``)
        but ``exclude`` (a connection, an id, or several), without waiting;
        returns how many it was queued for. The payload is shared by all
        receivers, not copied per receiver. A receiver whose queue is over
        ``send_queue_bytes`` is a slow consumer: closed with 1008, or left
        out of this message with ``slow_consumer="skip"``."""
        if exclude is None:
            ids: List[int] = []
        elif isinstance(exclude, (ServerConnection, int)):
            ids = [_conn_id(exclude)]
        else:
            ids = [_conn_id(c) for c in exclude]
        queued, _skipped, _cut = self._native.broadcast(room, message, ids)
        return queued

    def members(self, room: str) -> List[int]:
        """The ids of the members of ``room``, increasing."""
        return self._native.members(room)

    @property
    def rooms(self) -> List[str]:
        """The rooms that have members, sorted."""
        return self._native.room_names()

    def _on_connect(self, native: _rtwire.Connection, raw: _RequestTuple) -> None:
        request = Request(raw)
        request.user = self._users.pop(request.id, (None, 0.0))[0]
        conn = ServerConnection(native, self._loop, request, self)
        task = self._loop.create_task(self._run(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, conn: ServerConnection) -> None:
        try:
            await self._handler(conn)
        except asyncio.CancelledError:
            await self._close_quietly(conn, 1001, "server shutting down")
            raise
        except Exception:
            logger.error("rtwire connection handler failed", exc_info=True)
            await self._close_quietly(conn, 1011, "internal error")
        else:
            await self._close_quietly(conn, 1000, "")

    @staticmethod
    async def _close_quietly(conn: Connection, code: int, reason: str) -> None:
        try:
            await conn.close(code, reason)
        except Exception:  # already over, or closing
            pass

    def _on_accept(self, raw: _RequestTuple, reply: _rtwire.AcceptReply) -> None:
        hook: Optional[Callable[[Request], Any]] = self._process_request or self._authenticate
        if hook is None:
            reply()
            return
        request = Request(raw)
        try:
            out = hook(request)
        except Exception:
            logger.error("rtwire accept hook failed", exc_info=True)
            reply(500, "internal error")
            return
        if inspect.isawaitable(out):
            task = self._loop.create_task(self._answer_later(request, out, reply))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._answer(request, out, reply)

    async def _answer_later(self, request: Request, out: Awaitable[Any], reply: _rtwire.AcceptReply) -> None:
        try:
            result = await out
        except Exception:
            logger.error("rtwire accept hook failed", exc_info=True)
            reply(500, "internal error")
            return
        self._answer(request, result, reply)

    def _answer(self, request: Request, result: object, reply: _rtwire.AcceptReply) -> None:
        refusal = (
            isinstance(result, tuple)
            and len(result) == 2
            and isinstance(result[0], int)
            and isinstance(result[1], str)
        )
        if refusal:
            assert isinstance(result, tuple)
            reply(result[0], result[1])
        elif self._authenticate is not None:
            if result is None or result is False:
                reply(401, "unauthorized")
                return
            if request.path == self._path:
                self._keep_user(request.id, result)
            reply()
        elif result is None:
            reply()
        else:
            logger.error("rtwire process_request must return None or (status, body), not %r", result)
            reply(500, "internal error")

    def _keep_user(self, request_id: int, user: Any) -> None:
        now = self._loop.time()
        stale = [k for k, (_, when) in self._users.items() if now - when > _USER_WAIT]
        for k in stale:
            del self._users[k]
        self._users[request_id] = (user, now)

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Starts shutting down without waiting (see :meth:`wait_closed`):
        no new connections, clients get close 1001. Harmless when already
        closed. Off the server's loop, it blocks until the server is down,
        as :meth:`rtwire.Server.close` does."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop:
            super().close()
        elif self._closing is None:
            self._closing = self._native.close_async(self._loop)
        if not self._stopped.done() and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._set_stopped)

    def _set_stopped(self) -> None:
        if not self._stopped.done():
            self._stopped.set_result(None)

    async def wait_closed(self) -> None:
        """Waits until the server is down and its handlers have returned
        (handlers still running 5 s after their connection ended are
        cancelled)."""
        if self._closing is not None:
            await asyncio.shield(self._closing)
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=_HANDLER_GRACE)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending)

    async def aclose(self) -> None:
        """:meth:`close`, then :meth:`wait_closed`."""
        self.close()
        await self.wait_closed()

    async def serve_forever(self) -> None:
        """Returns once the server is closed (by :meth:`close` or leaving
        ``async with``); cancelling it closes the server."""
        try:
            await asyncio.shield(self._stopped)
        except asyncio.CancelledError:
            self.close()
            raise
        await self.wait_closed()

    async def _self(self) -> "WebSocketServer":
        return self

    def __await__(self) -> Generator[Any, None, "WebSocketServer"]:
        return self._self().__await__()

    async def __aenter__(self) -> "WebSocketServer":
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else "running"
        return f"<rtwire.WebSocketServer {self.ws_url} {state}>"


def _conn_id(c: "Union[ServerConnection, int]") -> int:
    if isinstance(c, ServerConnection):
        return c.id
    if isinstance(c, int) and not isinstance(c, bool):
        return c
    raise TypeError(f"exclude takes connections or ids, not {type(c).__name__}")


def serve_app(
    handler: ConnectionHandler,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    path: str = "/",
    subprotocols: Optional[Sequence[str]] = None,
    process_request: Optional[ProcessRequest] = None,
    authenticate: Optional[Authenticate] = None,
    **options: Unpack[ServeOptions],
) -> WebSocketServer:
    """``rtwire.serve(handler, host, port, ...)``: see :func:`rtwire.serve`.
    Must be called with an asyncio loop running (the handlers run on it)."""
    if not callable(handler):
        raise TypeError(f"handler must be callable, not {type(handler).__name__}")
    if process_request is not None and not callable(process_request):
        raise TypeError(f"process_request must be callable or None, not {type(process_request).__name__}")
    if authenticate is not None and not callable(authenticate):
        raise TypeError(f"authenticate must be callable or None, not {type(authenticate).__name__}")
    if process_request is not None and authenticate is not None:
        raise TypeError("give process_request or authenticate, not both")
    loop = asyncio.get_running_loop()
    # The native server holds these callbacks: they reach the Python server
    # weakly, so that an unclosed server can still be collected (and shut
    # down). Nothing runs on the loop before `serve_app` returns, so the
    # reference is set by the time they are called.
    holder: "List[weakref.ReferenceType[WebSocketServer]]" = []

    def on_connect(native: _rtwire.Connection, raw: _RequestTuple) -> None:
        server = holder[0]() if holder else None
        if server is None:
            native.close(1001, "server shutting down")
        else:
            server._on_connect(native, raw)

    def on_accept(raw: _RequestTuple, reply: _rtwire.AcceptReply) -> None:
        server = holder[0]() if holder else None
        if server is None:
            reply(503, "server shutting down")
        else:
            server._on_accept(raw, reply)

    native = _rtwire.serve(
        host,
        port,
        **server_options(options),
        route=path,
        protocols=subprotocols,
        event_loop=loop,
        on_connect=on_connect,
        on_accept=on_accept if process_request is not None or authenticate is not None else None,
    )
    server = WebSocketServer(native, handler, loop, path, process_request, authenticate)
    holder.append(weakref.ref(server))
    return server
