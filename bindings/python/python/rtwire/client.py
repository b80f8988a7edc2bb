"""The asyncio API: ``rtwire.connect`` and ``rtwire.Connection``."""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import warnings
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, AsyncIterator, Generator, List, Optional, Tuple, Type, Union

from . import _rtwire
from ._options import make_options
from ._rtwire import ClosedEvent, ErrorEvent, MessageEvent, OpenEvent, ReconnectingEvent
from ._schema import ConnectOptions, Unpack
from .exceptions import ConcurrencyError, ConnectionClosed

if TYPE_CHECKING:
    from .app import Request

__all__ = ["connect", "Connection", "Event", "Data"]

Data = Union[str, bytes]
"""A message: ``str`` (text) or ``bytes`` (binary)."""

Event = Union[OpenEvent, MessageEvent, ReconnectingEvent, ErrorEvent, ClosedEvent]
"""One event of a connection."""

_NORMAL = (1000, 1001)
_ids = itertools.count(1)


# ``RTWIRE_LOOP_IO=0`` runs connections on the runtime's threads instead of
# the loop's (see _LoopBridge).
_LOOP_IO = os.environ.get("RTWIRE_LOOP_IO", "1") != "0"


class _LoopBridge:
    """Per event loop: the native notifier's descriptor is watched with
    ``add_reader``; the runtime marks connections ready on it (no GIL, no
    task per message) and this callback wakes their readers.

    The notifier also hosts the loop's connections: their sockets are
    watched by this loop (``_watch``), and ``_on_io`` reads, parses and
    hands over messages on the loop's thread, so that a round trip never
    waits for another thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weak both ways: `_bridges` maps the loop to this bridge weakly,
        # and the native side must not keep the bridge alive, so that a
        # closed loop, its bridge and its connections are freed.
        self.loop_ref = weakref.ref(loop)
        self.notifier = _rtwire.LoopNotifier(_watcher(weakref.ref(self)) if _LOOP_IO else None)
        self.conns: "weakref.WeakValueDictionary[int, Connection]" = weakref.WeakValueDictionary()
        loop.add_reader(self.notifier.fileno(), self._on_ready)

    def _on_ready(self) -> None:
        conns = self.conns
        for i in self.notifier.take_ready():
            c = conns.get(i)
            if c is not None:
                c._wake()

    def _on_io(self, token: int, readable: bool, writable: bool) -> None:
        conns = self.conns
        for i in self.notifier.io_ready(token, readable, writable):
            c = conns.get(i)
            if c is not None:
                c._wake()

    def _watch(self, fd: int, token: int, read: bool, write: bool) -> None:
        loop = self.loop_ref()
        if loop is None or loop.is_closed():
            return
        if read:
            loop.add_reader(fd, self._on_io, token, True, False)
        else:
            loop.remove_reader(fd)
        if write:
            loop.add_writer(fd, self._on_io, token, False, True)
        else:
            loop.remove_writer(fd)


def _watcher(bridge: "weakref.ReferenceType[_LoopBridge]") -> Any:
    def watch(fd: int, token: int, read: bool, write: bool) -> None:
        b = bridge()
        if b is not None:
            b._watch(fd, token, read, write)

    return watch


_bridges: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopBridge]" = (
    weakref.WeakKeyDictionary()
)


def _bridge(loop: asyncio.AbstractEventLoop) -> _LoopBridge:
    b = _bridges.get(loop)
    if b is None:
        b = _bridges[loop] = _LoopBridge(loop)
    return b


class Connection:
    """An open connection, returned by :func:`connect`.

    Read with :meth:`recv`, ``async for message in conn`` or
    :meth:`events`; write with :meth:`send`; end with :meth:`close`.
    It belongs to the event loop that opened it.

    The connections an application server (``rtwire.serve(handler, ...)``)
    hands to its handler are of this class too; their :attr:`request` is
    the client's request (``None`` on a client's connection).
    """

    def __init__(self, native: _rtwire.Connection, loop: asyncio.AbstractEventLoop) -> None:
        self._native = native
        self._loop = loop
        self._waiters: List[asyncio.Future[None]] = []
        self._reading = False
        self._buffer: "collections.deque[Event]" = collections.deque()
        self._closed_waiters: List[asyncio.Future[None]] = []
        self._close_called = False
        self.request: "Optional[Request]" = None
        """The request of a server-side connection (path, query, headers,
        subprotocol, peer); ``None`` on a client's connection."""
        bridge = _bridge(loop)
        self._id = next(_ids)
        bridge.conns[self._id] = self
        native.set_notifier(bridge.notifier, self._id)

    # -- attributes ---------------------------------------------------------

    @property
    def transport(self) -> str:
        """The transport in use: ``"websocket"``, ``"sse"``, ``"long_poll"``,
        ``"poll"`` or ``"stream"``."""
        return self._native.transport

    @property
    def url(self) -> str:
        """The URL connected to, without user name or password."""
        return self._native.url

    @property
    def subprotocol(self) -> Optional[str]:
        """The subprotocol the server chose, or ``None``."""
        return self._native.subprotocol

    @property
    def response_headers(self) -> List[Tuple[str, str]]:
        """The handshake response headers of the first session, as
        ``(name, value)`` pairs with lower-case names."""
        return self._native.response_headers

    @property
    def closed(self) -> bool:
        """Whether the connection is over (its ``ClosedEvent`` was received)."""
        return self._native.closed_event is not None

    @property
    def close_code(self) -> Optional[int]:
        """The close code once the connection is over, else ``None``."""
        ev = self._native.closed_event
        return None if ev is None else ev.code

    @property
    def close_reason(self) -> Optional[str]:
        """The close reason once the connection is over, else ``None``."""
        ev = self._native.closed_event
        return None if ev is None else ev.reason

    @property
    def unsent(self) -> List[Data]:
        """Messages accepted by :meth:`send` but never written, handed back
        when the connection ended (empty before)."""
        return self._native.unsent

    @property
    def buffered_amount(self) -> int:
        """Bytes accepted by :meth:`send` and not yet written to the socket."""
        return self._native.buffered_amount

    # -- reading ------------------------------------------------------------

    def _wake(self) -> None:
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def _next_event(self) -> Optional[Event]:
        if self._buffer:
            return self._buffer.popleft()
        return await self._poll_next()

    async def _poll_next(self) -> Optional[Event]:
        # Nothing is taken from the queue until `poll_event` returns it, so
        # cancelling a reader loses no message.
        native = self._native
        while True:
            ev = native.poll_event()
            if ev is not None:
                if type(ev) is ClosedEvent:
                    self._notify_closed()
                return ev
            if native.finished:
                self._notify_closed()
                return None
            fut: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append(fut)
            try:
                await fut
            except BaseException:
                if fut in self._waiters:
                    self._waiters.remove(fut)
                raise

    def _notify_closed(self) -> None:
        waiters, self._closed_waiters = self._closed_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def _enter_read(self) -> None:
        if self._reading:
            raise ConcurrencyError(
                "another task is already receiving on this connection"
            )
        self._reading = True

    def _exit_read(self) -> None:
        self._reading = False
        if self._closed_waiters:
            self._notify_closed()  # a closing task re-checks who reads

    async def recv(self) -> Data:
        """Waits for the next message and returns it: ``str`` for text,
        ``bytes`` for binary. Open and reconnect events are skipped (see
        :meth:`events`).

        Cancelling ``recv`` loses no message: the next call returns it.

        Raises:
            ConnectionClosed: the connection is over (``.code``, ``.reason``).
            Error: the subclass for the error that ended the connection
                (``TooLargeError``, ``ProtocolError``, ``TimeoutError`` for a
                dead peer, ``ConnectError`` when reconnecting gave up, ...).
            ConcurrencyError: another task is already in ``recv``.
        """
        if self._reading:
            raise ConcurrencyError("another task is already receiving on this connection")
        self._reading = True
        native = self._native
        buffer = self._buffer
        try:
            while True:
                ev: Optional[Event]
                if buffer:
                    ev = buffer.popleft()
                else:
                    ev = native.poll_event()
                    if ev is None:
                        if native.finished:
                            self._notify_closed()
                            raise native.closed_error()
                        fut: asyncio.Future[None] = self._loop.create_future()
                        self._waiters.append(fut)
                        try:
                            await fut
                        except BaseException:
                            if fut in self._waiters:
                                self._waiters.remove(fut)
                            raise
                        continue
                if type(ev) is MessageEvent:
                    return ev.data
                if type(ev) is ClosedEvent:
                    self._notify_closed()
                    raise native.closed_error()
        finally:
            self._exit_read()

    def __aiter__(self) -> AsyncIterator[Data]:
        return self

    async def __anext__(self) -> Data:
        """The next message; the iteration ends when the connection closes
        with code 1000 or 1001 and raises otherwise (as :meth:`recv`)."""
        try:
            return await self.recv()
        except ConnectionClosed as e:
            if e.code in _NORMAL:
                raise StopAsyncIteration from None
            raise

    async def events(self) -> AsyncIterator[Event]:
        """Every event, in order: ``OpenEvent``, ``MessageEvent``,
        ``ReconnectingEvent`` (then a new ``OpenEvent``), ``ErrorEvent``,
        and ``ClosedEvent`` last, after which the iteration ends.

        The first ``OpenEvent`` is the one of :func:`connect`'s session.
        """
        while True:
            self._enter_read()
            try:
                ev = await self._next_event()
            finally:
                self._exit_read()
            if ev is None:
                return
            yield ev
            if type(ev) is ClosedEvent:
                return

    # -- writing ------------------------------------------------------------

    async def send(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Queues a message: ``str`` goes as text, ``bytes``, ``bytearray`` or
        a contiguous ``memoryview`` as binary. Returns once the message is
        queued; waits only while the outgoing queue is over
        ``send_queue_bytes``. Messages sent while reconnecting are queued and
        flushed in order once the new session opens.

        Raises:
            TypeError: ``message`` is of another type.
            ValueError: a non-contiguous ``memoryview``.
            ConnectionClosed: the connection is over (the message is in
                ``.unsent``).
        """
        fut = self._native.send(message, self._loop)
        if fut is not None:
            await fut

    def send_nowait(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Queues a message without waiting.

        Raises:
            QueueFullError: the outgoing queue is over ``send_queue_bytes``.
            ConnectionClosed: the connection is over.
        """
        self._native.try_send(message)

    # -- closing ------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes the connection: what was queued before goes out first, then
        a close frame with ``code`` and ``reason``; returns once the
        connection is over (the peer answered, or ``close_timeout`` passed).
        Messages arriving meanwhile are not lost: a task reading gets them,
        or later calls to :meth:`recv` do, before ``ConnectionClosed``.
        Calling it again is harmless.

        Raises:
            InvalidArgumentError: a code an application may not send (allowed:
                1000-1003, 1007-1014, 3000-4999) or a reason over 123 bytes.
            TypeError: ``code`` is not an int or ``reason`` not a str.
        """
        self._native.close(code, reason)
        self._close_called = True
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Waits until the connection is over. Events that arrive meanwhile
        are kept for :meth:`recv` and :meth:`events` (which then end with
        ``ConnectionClosed``/the ``ClosedEvent``), or left to a task that is
        reading at the time."""
        while self._native.closed_event is None:
            if self._reading:
                fut: asyncio.Future[None] = self._loop.create_future()
                self._closed_waiters.append(fut)
                await fut
            else:
                ev = await self._poll_next()
                if ev is None:
                    return
                self._buffer.append(ev)

    async def __aenter__(self) -> "Connection":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    def __del__(self) -> None:
        native = getattr(self, "_native", None)
        if native is not None and not getattr(self, "_close_called", True) and native.closed_event is None:
            warnings.warn(
                f"unclosed rtwire.Connection to {native.url}; it is closed with 1001",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<rtwire.Connection {self.url} {self.transport} {state}>"


class connect:
    """Opens a connection to ``url``; use as ``async with connect(url) as
    conn:`` (closed at the end of the block) or ``conn = await connect(url)``.

    It returns once the first session is open. The options are checked
    when ``connect(...)`` is called, before any I/O: a wrong type or an
    unknown keyword raises ``TypeError``, a value the core refuses
    ``InvalidArgumentError`` (a ``ValueError``), naming the keyword.

    Args:
        url: ``ws://`` or ``wss://`` for WebSocket, ``http://`` or
            ``https://`` for the HTTP transports. User info becomes
            ``Authorization: Basic``.
        **options: the keywords of :class:`rtwire.ConnectOptions`, one per
            option of the core's schema (docs/options.md has the table):
            durations in seconds, sizes in bytes, ``None`` for "off" where
            an option can be off. ``reconnect`` takes a bool or a
            :class:`Reconnect`, ``cursor`` a :class:`Cursor`, ``proxy`` a
            URL, ``True`` (from the environment, the default) or
            ``False``/``None`` (direct).

    Raises:
        InvalidUrlError: the URL cannot be used (before any I/O).
        ConnectError: DNS or TCP failure.
        TlsError: certificate not trusted, wrong name, unreadable CA file.
        HandshakeError: the server refused the upgrade (``.status``,
            ``.headers``, ``.body``).
        TimeoutError: the handshake took longer than ``open_timeout``.
        UnsupportedError: a transport or option not available yet.
    """

    def __init__(self, url: str, **options: Unpack[ConnectOptions]) -> None:
        self._options = make_options(url, options)
        self._url = url
        self._conn: Optional[Connection] = None

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        native = await _rtwire.connect_async(loop, self._url, self._options, _bridge(loop).notifier)
        return Connection(native, loop)

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._open().__await__()

    async def __aenter__(self) -> Connection:
        self._conn = await self._open()
        return self._conn

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._conn is not None:
            await self._conn.close()
