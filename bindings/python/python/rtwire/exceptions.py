"""Exceptions raised by rtwire.

Every error of the Rust core has a stable kind; each kind maps to exactly one
class below (``KIND_TO_CLASS``), all subclasses of :class:`Error`. Where a
builtin exception means the same thing, the class derives from it too:
:class:`TimeoutError` is also a builtin ``TimeoutError``,
:class:`InvalidUrlError` and :class:`InvalidArgumentError` are also
``ValueError``, :class:`ConnectError` is also ``ConnectionError``.
"""

from __future__ import annotations

import builtins
from typing import Dict, List, Optional, Tuple, Type, Union

__all__ = [
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
    "KIND_TO_CLASS",
]

Data = Union[str, bytes]


class Error(Exception):
    """Base class of every error that comes from a connection.

    Attributes:
        kind: the stable name of the error kind (``"connect"``, ``"tls"``, ...).
        message: what went wrong, and with which input.
        close_code: the WebSocket close code this error caused or came with
            (1009 for :class:`TooLargeError`, 1007 for invalid UTF-8, ...),
            or ``None``.
        unsent: messages handed back unsent (``str`` or ``bytes``), oldest first.
    """

    kind: str = ""

    def __init__(
        self,
        message: str = "",
        *,
        close_code: Optional[int] = None,
        unsent: Optional[List[Data]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.close_code = close_code
        self.unsent: List[Data] = list(unsent or [])

    def __str__(self) -> str:
        return self.message


class InvalidUrlError(Error, ValueError):
    """The URL cannot be used: bad syntax, unknown scheme, empty host, port 0,
    a fragment in a WebSocket URL, control characters. Raised before any I/O."""

    kind = "invalid_url"


class InvalidArgumentError(Error, ValueError):
    """An argument or option is out of its allowed range (a close code an
    application may not send, a header that is not valid HTTP, ...)."""

    kind = "invalid_argument"


class ConnectError(Error, ConnectionError):
    """Name resolution or the TCP connection failed (refused, unreachable)."""

    kind = "connect"


class TlsError(Error):
    """TLS failed: untrusted, expired or mismatched certificate, an unreadable
    CA or key file, a failed TLS handshake."""

    kind = "tls"


class HandshakeError(Error):
    """The server refused the HTTP handshake or answered it wrongly.

    Attributes:
        status: the HTTP status of the response (``None`` when the response
            was wrong for another reason, e.g. a bad ``Sec-WebSocket-Accept``).
        headers: the response headers as ``(name, value)`` pairs.
        body: the start of the response body (at most 64 KiB), or ``None``.
    """

    kind = "handshake"

    def __init__(
        self,
        message: str = "",
        *,
        status: Optional[int] = None,
        headers: Optional[List[Tuple[str, str]]] = None,
        body: Optional[bytes] = None,
        close_code: Optional[int] = None,
        unsent: Optional[List[Data]] = None,
    ) -> None:
        super().__init__(message, close_code=close_code, unsent=unsent)
        self.status = status
        self.headers: List[Tuple[str, str]] = list(headers or [])
        self.body = body


class ProtocolError(Error):
    """The peer broke the protocol (a bad frame: close code 1002; invalid
    UTF-8 in a text message: 1007)."""

    kind = "protocol"


class TooLargeError(Error):
    """A message or frame was over ``max_message_size``/``max_frame_size``
    (close code 1009)."""

    kind = "too_large"


class TimeoutError(Error, builtins.TimeoutError):
    """An operation did not finish in time: the opening handshake
    (``open_timeout``), the close handshake, a peer that stopped answering
    pings, or ``recv(timeout=...)`` in the blocking API."""

    kind = "timeout"


class ConnectionClosed(Error):
    """The connection is closed: raised by ``recv`` once the connection is
    over, and by ``send`` after that.

    Attributes:
        code: the close code (1000 normal, 1001 going away, 1005 none given,
            1006 lost without a close frame, ...), or ``None`` if unknown.
        reason: the close reason (``""`` if none).
        clean: whether the close handshake completed in both directions.
    """

    kind = "closed"

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[int] = None,
        reason: str = "",
        clean: bool = False,
        close_code: Optional[int] = None,
        unsent: Optional[List[Data]] = None,
    ) -> None:
        super().__init__(message, close_code=close_code, unsent=unsent)
        self.code = code if code is not None else close_code
        self.reason = reason
        self.clean = clean


class QueueFullError(Error):
    """``try_send`` found the outgoing queue over its high-water mark
    (``send_queue_bytes``); the message is in ``unsent``."""

    kind = "queue_full"


class UnsupportedError(Error):
    """The feature or transport is not available for this connection."""

    kind = "unsupported"


class IoError(Error, OSError):
    """An I/O error on an established connection."""

    kind = "io"


class InternalError(Error):
    """A bug in rtwire. Please report it."""

    kind = "internal"


class ConcurrencyError(RuntimeError):
    """Two readers at once: ``recv`` (or iteration, or ``events()``) was
    called while another task or thread was already receiving on the same
    connection. This is a usage error, not a connection error."""


KIND_TO_CLASS: Dict[str, Type[Error]] = {
    cls.kind: cls
    for cls in (
        InvalidUrlError,
        InvalidArgumentError,
        ConnectError,
        TlsError,
        HandshakeError,
        ProtocolError,
        TooLargeError,
        TimeoutError,
        ConnectionClosed,
        QueueFullError,
        UnsupportedError,
        IoError,
        InternalError,
    )
}


def _from_core(
    kind: str,
    message: str,
    *,
    status: Optional[int] = None,
    headers: Optional[List[Tuple[str, str]]] = None,
    body: Optional[bytes] = None,
    close_code: Optional[int] = None,
    unsent: Optional[List[Data]] = None,
    code: Optional[int] = None,
    reason: str = "",
    clean: bool = False,
) -> Error:
    """The exception for a core error (called by the native module)."""
    cls = KIND_TO_CLASS.get(kind, Error)
    err: Error
    if cls is HandshakeError:
        err = HandshakeError(
            message, status=status, headers=headers, body=body, close_code=close_code, unsent=unsent
        )
    elif cls is ConnectionClosed:
        err = ConnectionClosed(
            message, code=code, reason=reason, clean=clean, close_code=close_code, unsent=unsent
        )
    else:
        err = cls(message, close_code=close_code, unsent=unsent)
        if cls is Error:
            err.kind = kind
    return err
