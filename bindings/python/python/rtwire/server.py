"""The embedded server: ``rtwire.serve`` and ``rtwire.Server``.

One port serves named channels over WebSocket, SSE, long polling, short
polling and NDJSON streaming at once, with bounded history and resumable
ids. It runs on the package's native runtime; a Python program only
publishes and, if it wants, looks at what WebSocket clients send.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import os
import threading
import warnings
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Deque, List, Mapping, Optional, Sequence, Tuple, Type, Union, overload

from . import _rtwire
from ._rtwire import ServerStats
from ._schema import ServerOptions, Unpack

if TYPE_CHECKING:
    from .app import Authenticate, ConnectionHandler, ProcessRequest, WebSocketServer

__all__ = ["serve", "Server", "MessageHandler"]

MessageHandler = Callable[[str, Union[str, bytes]], Union[str, bytes, bytearray, memoryview, None]]
"""An ``on_message`` callback: ``(channel, data)`` → what to publish, or
``None`` to publish nothing."""

PathLike = Union[str, "os.PathLike[str]"]

_MAX_ERRORS = 100


def _handler_loop(ref: "weakref.ReferenceType[Server]") -> None:
    # Holds the server only while handling a message, so that an unclosed
    # server can still be collected (and is then shut down).
    while True:
        server = ref()
        if server is None:
            return
        native = server._native
        del server
        item = native.next_message(0.5)
        if item is None:
            if native.closed:
                return
            del native
            continue
        del native
        server = ref()
        if server is None:
            return
        server._handle(item[0], item[1])
        del server


class Server:
    """A running server, returned by :func:`serve`.

    Close it with :meth:`close` (blocking) or :meth:`aclose` (asyncio), or
    use it as a context manager (``with`` or ``async with``).
    """

    def __init__(self, native: _rtwire.Server) -> None:
        self._native = native
        self._callback: Optional[MessageHandler] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._errors: Deque[BaseException] = collections.deque(maxlen=_MAX_ERRORS)
        self._dropped_seen = 0

    # -- attributes ---------------------------------------------------------

    @property
    def host(self) -> str:
        """The address listened on."""
        return self._native.host

    @property
    def port(self) -> int:
        """The port listened on (the real one when started with ``port=0``)."""
        return self._native.port

    @property
    def url(self) -> str:
        """``http://host:port`` (``https://`` with TLS). Channels are at
        ``/ws/{channel}``, ``/sse/{channel}``, ``/poll/{channel}``,
        ``/stream/{channel}``, ``/latest/{channel}``,
        ``/negotiate/{channel}``; replace ``http`` by ``ws`` for WebSocket."""
        return self._native.url

    @property
    def epoch(self) -> str:
        """The epoch of the message ids (``{epoch}-{seq}``), new at every start."""
        return self._native.epoch

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` or :meth:`aclose` was called."""
        return self._native.closed

    @property
    def errors(self) -> List[BaseException]:
        """Exceptions raised by the ``on_message`` callback (the latest 100),
        oldest first. Each is also reported with ``warnings.warn``."""
        return list(self._errors)

    @property
    def dropped(self) -> int:
        """Messages from clients dropped because the ``on_message`` queue was
        full (the callback was slower than the clients)."""
        return self._native.dropped

    # -- publishing ---------------------------------------------------------

    def publish(self, channel: str, data: Union[str, bytes, bytearray, memoryview]) -> str:
        """Publishes ``data`` to every subscriber of ``channel`` (``str``:
        text; bytes-like: binary) and keeps it in the channel's history.
        Returns the message id. Never blocks on clients.

        Raises:
            TypeError: ``channel`` is not a ``str`` or ``data`` of another type.
            ValueError: ``channel`` is not 1 to 128 characters of
                ``A-Z a-z 0-9 . _ -``.
            RuntimeError: the server is closed.
        """
        return self._native.publish(channel, data)

    def stats(self) -> ServerStats:
        """Open connections and, per channel, messages published, kept in
        history and live subscribers.

        Raises:
            RuntimeError: the server is closed.
        """
        return self._native.stats()

    def disconnect_all(self) -> None:
        """Drops every client at once, as a network cut would (no close
        frames). Clients that resume (SSE ``Last-Event-ID``, cursors,
        ``rtwire_protocol``) get what they missed from history.

        Raises:
            RuntimeError: the server is closed.
        """
        self._native.disconnect_all()

    # -- messages from clients ----------------------------------------------

    def on_message(self, callback: Optional[MessageHandler], *, queue: int = 1024) -> Optional[MessageHandler]:
        """Sets what happens to messages WebSocket clients send (by default
        they are published to their channel as they are).

        ``callback(channel, data)`` returns what to publish to the channel
        (``str`` or bytes-like; possibly changed) or ``None`` to publish
        nothing. It runs on a Python thread of the server's own, one message
        at a time in arrival order — never on the network threads, so a slow
        callback delays only the messages behind it: up to ``queue`` wait,
        further ones are dropped and counted in :attr:`dropped` (with a
        ``RuntimeWarning``). An exception in the callback is reported with
        ``warnings.warn`` (``RuntimeWarning``) and kept in :attr:`errors`;
        the message is not published and the server carries on. To hand
        messages to asyncio, use ``loop.call_soon_threadsafe`` in the
        callback. ``None`` restores the default.

        Returns ``callback``, so it can be used as a decorator.

        Raises:
            TypeError: ``callback`` is not callable (or is a coroutine
                function), or ``queue`` is not an ``int``.
            ValueError: ``queue`` < 1.
            RuntimeError: the server is closed.
        """
        if callback is not None:
            if not callable(callback):
                raise TypeError(f"callback must be callable or None, not {type(callback).__name__}")
            if inspect.iscoroutinefunction(callback):
                raise TypeError("callback must be a plain function, not a coroutine function")
        if isinstance(queue, bool) or not isinstance(queue, int):
            raise TypeError(f"queue must be an int, not {type(queue).__name__}")
        if queue < 1:
            raise ValueError(f"queue must be at least 1, got {queue}")
        with self._lock:
            if callback is None:
                self._native.set_inbox(None)
                self._callback = None
                return None
            self._callback = callback
            self._native.set_inbox(queue)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_handler_loop,
                    args=(weakref.ref(self),),
                    name=f"rtwire-server-{self.port}",
                    daemon=True,
                )
                self._thread.start()
        return callback

    def _report(self, error: BaseException) -> None:
        self._errors.append(error)
        warnings.warn(
            f"rtwire.Server on_message callback failed: {error!r}",
            RuntimeWarning,
            stacklevel=2,
        )

    def _handle(self, channel: str, data: Union[str, bytes]) -> None:
        callback = self._callback
        try:
            out = data if callback is None else callback(channel, data)
            if out is not None:
                if inspect.isawaitable(out):
                    if inspect.iscoroutine(out):
                        out.close()
                    raise TypeError("on_message callback returned an awaitable; it must return data or None")
                if not isinstance(out, (str, bytes, bytearray, memoryview)):
                    raise TypeError(
                        f"on_message callback must return str, bytes-like or None, not {type(out).__name__}"
                    )
                if not self._native.closed:
                    self._native.publish(channel, out)
        except Exception as e:  # reported, not swallowed
            if not self._native.closed:
                self._report(e)
        dropped = self._native.dropped
        if dropped > self._dropped_seen:
            self._dropped_seen = dropped
            warnings.warn(
                f"rtwire.Server dropped {dropped} client message(s) so far: the on_message "
                "callback is slower than the clients send (see on_message(queue=...))",
                RuntimeWarning,
                stacklevel=2,
            )

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Stops the server and blocks until it is down: no new connections,
        WebSocket clients get close 1001, streams and held polls end,
        connections are awaited up to 5 s. Harmless when already closed."""
        self._native.close()

    async def aclose(self) -> None:
        """:meth:`close` for asyncio: the loop keeps running meanwhile."""
        fut = self._native.close_async(asyncio.get_running_loop())
        if fut is not None:
            await fut

    def __enter__(self) -> "Server":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        native = getattr(self, "_native", None)
        if native is not None and not native.closed:
            warnings.warn(
                f"unclosed rtwire.Server on {native.url}; it is shut down in the background",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        state = "closed" if self.closed else "running"
        return f"<rtwire.Server {self.url} {state}>"


class ServeOptions(ServerOptions, total=False):
    """The server's keyword arguments, shared by both forms of
    :func:`serve`: those of the core's server option schema
    (``ServerOptions``, generated; docs/server.md has the table) and
    ``pages``."""

    pages: Optional[Mapping[str, Tuple[str, Union[str, bytes]]]]


_SERVE_KEYWORDS = frozenset([s["python"] for s in _rtwire.server_option_schema() if s["python"]] + ["pages"])


def server_options(options: ServeOptions) -> ServeOptions:
    """``options`` with ``pages`` in the native form; an unknown keyword is
    a ``TypeError`` naming it. The values are checked by the core's server
    schema (``TypeError`` for a wrong type, ``InvalidArgumentError`` for a
    value out of range, naming the keyword); those left out keep the
    core's defaults."""
    unknown = set(options) - _SERVE_KEYWORDS
    if unknown:
        raise TypeError(f"serve() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    merged: ServeOptions = dict(options)  # type: ignore[assignment]
    pages = merged.get("pages")
    if pages is not None:
        if not isinstance(pages, Mapping):
            raise TypeError(f"pages must be a mapping of path to (content_type, body), not {type(pages).__name__}")
        native_pages = []
        for path, page in pages.items():
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"page paths start with '/', got {path!r}")
            if not (isinstance(page, tuple) and len(page) == 2 and isinstance(page[0], str)):
                raise TypeError(f"pages[{path!r}] must be (content_type, body)")
            body = page[1].encode() if isinstance(page[1], str) else bytes(page[1])
            native_pages.append((path, page[0], body))
        merged["pages"] = native_pages  # type: ignore[typeddict-item]
    return merged


@overload
def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Unpack[ServeOptions],
) -> Server: ...


@overload
def serve(
    handler: "ConnectionHandler",
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    path: str = "/",
    subprotocols: Optional[Sequence[str]] = None,
    process_request: "Optional[ProcessRequest]" = None,
    authenticate: "Optional[Authenticate]" = None,
    **options: Unpack[ServeOptions],
) -> "WebSocketServer": ...


def serve(*args: Any, **kwargs: Any) -> Any:
    """Starts a server and returns it once it listens.

    ``serve(host, port, ...)`` starts the channel server (:class:`Server`,
    see :func:`_serve_channels`). ``serve(handler, host, port, path="/",
    subprotocols=None, process_request=None, ...)`` (a callable first)
    starts an application server in the shape of ``websockets.serve``, on
    the running asyncio loop: each WebSocket client of ``path`` gets an
    :class:`rtwire.Connection` (with ``conn.request``) and
    ``handler(conn)`` runs as a task; use it as ``async with
    rtwire.serve(handler, ...) as server:`` or ``server = await
    rtwire.serve(...)``, and :class:`rtwire.WebSocketServer`. The other
    keywords are the channel server's (the channel paths are served too).

    Args:
        handler: ``async def handler(conn)``; when it returns the connection
            is closed with 1000, when it raises with 1011 (the exception is
            logged to the ``rtwire.server`` logger); other connections go
            on.
        path: the path the handler serves (exact match; default ``"/"``).
        subprotocols: subprotocols accepted, in order of preference: the
            first one the client offers is chosen (``conn.request.protocol``);
            a client offering none is served without one.
        process_request: ``(request) -> None | (status, body)``, plain or
            ``async``, run before the upgrade, for the handler's path and the
            channel paths: ``None`` accepts, ``(status, body)`` refuses with
            that HTTP status (400-599) and body. An exception refuses with
            500.
        authenticate: instead of ``process_request``: ``(request) -> user``,
            plain or ``async``, run at the same point: a user (any value
            but ``None``, ``False`` or a ``(status, body)`` tuple) accepts
            and is kept in ``conn.request.user``; ``None`` or ``False``
            refuses with 401; ``(status, body)`` refuses with those.
    """
    if args and callable(args[0]):
        from .app import serve_app

        return serve_app(*args, **kwargs)
    if "handler" in kwargs:
        from .app import serve_app

        return serve_app(*args, **kwargs)
    return _serve_channels(*args, **kwargs)


def _serve_channels(
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Unpack[ServeOptions],
) -> Server:
    """Starts a server and returns it once it listens (it runs on the
    package's native runtime; the call blocks only to bind the port, so it
    may be used from asyncio code too).

    Args:
        host: address to listen on (default ``"127.0.0.1"``; an IP address
            or a name that resolves to one).
        port: port to listen on; ``0`` (default) picks a free one
            (:attr:`Server.port`).
        history: messages kept per channel for resuming clients (default 1000).
        client_queue: messages a subscriber may fall behind before it is cut
            off (WebSocket close 1008; SSE and streams end and resume from
            history), default 1024.
        token: a bearer token every channel request must carry
            (``Authorization: Bearer T`` or ``?token=T``); default none.
        tls_cert: PEM certificate chain for TLS (with ``tls_key``).
        tls_key: PEM private key for TLS (with ``tls_cert``).
        allowed_origins: WebSocket ``Origin`` values allowed (exact match);
            ``None`` (default) allows any origin.
        cors: answer CORS preflights and add ``Access-Control-Allow-Origin``
            (default ``False``).
        ping_interval: WebSocket ping interval in seconds; a client silent
            that long after a ping is dropped (default 20).
        heartbeat: seconds between SSE comments / NDJSON blank lines on
            quiet streams (default 15).
        long_poll_hold: longest a long poll is held, in seconds (default 25).
        max_message_size: largest message a client may send or publish, in
            bytes (default 16 MiB).
        max_headers: most request headers (default 64; more: 431).
        header_timeout: seconds allowed for a request's headers (default 10).
        send_queue_bytes: the bound of each application connection's
            outgoing queue (default 1 MiB): ``send`` waits while more is
            unsent, and a broadcast treats the connection as a slow
            consumer.
        pages: fixed documents, ``{path: (content_type, body)}`` (``body``
            ``str`` or bytes): ``GET path`` answers with it, without the
            token or ``process_request`` — the page of a browser
            application on the same origin as its endpoints.
        slow_consumer: what a broadcast does with a slow consumer:
            ``"disconnect"`` (default: close 1008) or ``"skip"`` (it misses
            that message; the others are not held up either way).
        idle_timeout: seconds an application connection may pass without a
            message either way (pings do not count) before it is closed
            with 1001 ``"idle timeout"``; ``None`` (default) for no limit.

    Raises:
        TypeError, ValueError: an argument of the wrong type or out of range
            (the message names it).
        ConnectError: the address cannot be bound (in use, not local) or the
            host name does not resolve.
        TlsError: the certificate or key file cannot be read or used.
        InvalidArgumentError: options the core refuses.
    """
    native = _rtwire.serve(
        host,
        port,
        **server_options(options),
    )
    return Server(native)
