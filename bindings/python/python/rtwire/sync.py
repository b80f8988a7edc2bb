"""The blocking API: ``rtwire.sync.connect`` and ``rtwire.sync.Connection``.

Same shape as the asyncio API, for scripts and threads. Every blocking call
releases the GIL and wakes at least every 100 ms to look for signals, so
Ctrl-C raises ``KeyboardInterrupt`` promptly. A connection may be used from
several threads: sends from any number of them at once; one reader at a time
(a second concurrent reader gets :class:`~rtwire.ConcurrencyError`).
"""

from __future__ import annotations

import math
import time
import warnings
from types import TracebackType
from typing import Iterator, List, Optional, Tuple, Type, Union

from . import _rtwire
from ._options import make_options
from ._rtwire import ClosedEvent, MessageEvent
from ._schema import ConnectOptions, Unpack
from .client import Data, Event
from .exceptions import ConnectionClosed

__all__ = ["connect", "Connection"]

_NORMAL = (1000, 1001)


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a finite number of seconds >= 0, got {timeout!r}")
    return float(timeout)


class Connection:
    """An open connection, returned by :func:`connect`. Read with
    :meth:`recv`, ``for message in conn`` or :meth:`events`; write with
    :meth:`send`; end with :meth:`close` (or use it as a context manager)."""

    def __init__(self, native: _rtwire.Connection) -> None:
        self._native = native
        self._close_called = False

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
        """The handshake response headers of the first session."""
        return self._native.response_headers

    @property
    def closed(self) -> bool:
        """Whether the connection is over."""
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
        """Messages accepted by :meth:`send` but never written."""
        return self._native.unsent

    @property
    def buffered_amount(self) -> int:
        """Bytes accepted by :meth:`send` and not yet written."""
        return self._native.buffered_amount

    def next_event(self, timeout: Optional[float] = None) -> Event:
        """The next event (see :meth:`rtwire.Connection.events`).

        Raises:
            TimeoutError: nothing arrived within ``timeout`` seconds.
            ConnectionClosed: the ``ClosedEvent`` was already returned.
        """
        ev = self._native.recv_blocking(timeout)
        if ev is None:
            raise self._native.closed_error()
        return ev

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Every event in order, ending after the ``ClosedEvent``.
        ``timeout`` bounds the wait for each event."""
        while True:
            ev = self._native.recv_blocking(timeout)
            if ev is None:
                return
            yield ev
            if type(ev) is ClosedEvent:
                return

    def recv(self, timeout: Optional[float] = None) -> Data:
        """Blocks until the next message and returns it (``str`` or
        ``bytes``), skipping other events.

        Args:
            timeout: seconds to wait at most (``None``: no limit). A finite
                number >= 0, else ``ValueError``; not a number: ``TypeError``.

        Raises:
            TimeoutError: no message within ``timeout`` (the connection is
                unaffected; call again).
            ConnectionClosed: the connection is over.
            Error: the subclass for the error that ended the connection.
            ConcurrencyError: another thread is already receiving.
            KeyboardInterrupt: Ctrl-C; no message is lost.
        """
        deadline = None
        if timeout is not None:
            deadline = time.monotonic() + _check_timeout(timeout)
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ev = self._native.recv_blocking(remaining)
            if type(ev) is MessageEvent:
                return ev.data
            if ev is None or type(ev) is ClosedEvent:
                raise self._native.closed_error()

    def __iter__(self) -> Iterator[Data]:
        """Messages until the connection closes; ends quietly on close code
        1000 or 1001, raises otherwise (as :meth:`recv`)."""
        while True:
            try:
                yield self.recv()
            except ConnectionClosed as e:
                if e.code in _NORMAL:
                    return
                raise

    def send(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Queues a message (``str``: text; bytes-like: binary), blocking
        only while the outgoing queue is over ``send_queue_bytes``.

        Raises:
            TypeError: ``message`` is of another type.
            ConnectionClosed: the connection is over.
        """
        self._native.send_blocking(message)

    def send_nowait(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Queues a message without blocking.

        Raises:
            QueueFullError: the outgoing queue is over ``send_queue_bytes``.
            ConnectionClosed: the connection is over.
        """
        self._native.try_send(message)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Sends what was queued, then a close frame, and blocks until the
        connection is over (at most about ``close_timeout``). Messages
        arriving meanwhile are not lost: a thread receiving gets them, or
        later calls to :meth:`recv` and :meth:`events` do, before
        ``ConnectionClosed``.

        Raises:
            InvalidArgumentError: a code an application may not send or a
                reason over 123 bytes.
        """
        self._native.close(code, reason)
        self._close_called = True
        self._native.wait_closed_blocking(None)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        native = getattr(self, "_native", None)
        if native is not None and not getattr(self, "_close_called", True) and native.closed_event is None:
            warnings.warn(
                f"unclosed rtwire.sync.Connection to {native.url}; it is closed with 1001",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<rtwire.sync.Connection {self.url} {self.transport} {state}>"


def connect(url: str, **options: Unpack[ConnectOptions]) -> Connection:
    """Opens a connection, blocking until the first session is open; the
    options (:class:`rtwire.ConnectOptions`, table in docs/options.md) and
    errors are those of :func:`rtwire.connect`. Ctrl-C interrupts it
    (``KeyboardInterrupt``)."""
    return Connection(_rtwire.connect_blocking(url, make_options(url, options)))
