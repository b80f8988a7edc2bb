"""Native module of rtwire (Rust, pyo3). Use the package ``rtwire`` instead."""

import asyncio
import os
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, final

from .exceptions import Error

__all__ = [
    "__version__",
    "CORE_VERSION",
    "BUILD_PROFILE",
    "ERROR_KINDS",
    "TRANSPORTS",
    "Options",
    "Reconnect",
    "Connection",
    "LoopNotifier",
    "Resolve",
    "CancelTask",
    "OpenEvent",
    "MessageEvent",
    "ReconnectingEvent",
    "ErrorEvent",
    "ClosedEvent",
    "connect_async",
    "connect_blocking",
    "error_for_kind",
    "_at_exit",
]

__version__: str
CORE_VERSION: str
BUILD_PROFILE: str
ERROR_KINDS: Tuple[str, ...]
TRANSPORTS: Tuple[str, ...]

_Data = Union[str, bytes]
_Message = Union[str, bytes, bytearray, memoryview]
_Event = Union[OpenEvent, MessageEvent, ReconnectingEvent, ErrorEvent, ClosedEvent]
_Path = Union[str, os.PathLike[str]]

@final
class Reconnect:
    """The reconnect policy: exponential backoff with full jitter. The delay
    before attempt n is drawn from [0, min(max_delay, initial_delay * 2**(n-1))]."""

    def __new__(
        cls,
        *,
        initial_delay: Optional[float] = None,
        max_delay: Optional[float] = None,
        max_attempts: Optional[int] = None,
        retry_initial: Optional[bool] = None,
    ) -> Reconnect: ...
    @property
    def initial_delay(self) -> float: ...
    @property
    def max_delay(self) -> float: ...
    @property
    def max_attempts(self) -> Optional[int]: ...
    @property
    def retry_initial(self) -> bool: ...

@final
class Options:
    def __new__(
        cls,
        *,
        transport: Optional[str] = None,
        headers: Optional[Union[Mapping[str, str], Iterable[Tuple[str, str]]]] = None,
        subprotocols: Optional[Sequence[str]] = None,
        origin: Optional[str] = None,
        reconnect: Optional[Union[bool, Reconnect]] = None,
        open_timeout: Optional[float] = None,
        close_timeout: Optional[float] = None,
        ping_interval: Optional[float] = None,
        ping_timeout: Optional[float] = None,
        max_message_size: Optional[int] = None,
        max_frame_size: Optional[int] = None,
        send_queue_bytes: Optional[int] = None,
        event_queue: Optional[int] = None,
        proxy: Optional[Union[str, bool]] = None,
        cafile: Optional[_Path] = None,
        certfile: Optional[_Path] = None,
        keyfile: Optional[_Path] = None,
        insecure: Optional[bool] = None,
        disable_ping: bool = False,
    ) -> Options: ...

@final
class OpenEvent:
    """A session is open (first connect or after a reconnect)."""

    @property
    def type(self) -> str: ...
    @property
    def transport(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def subprotocol(self) -> Optional[str]: ...
    @property
    def headers(self) -> List[Tuple[str, str]]: ...

@final
class MessageEvent:
    """A message arrived: ``data`` is ``str`` (text) or ``bytes`` (binary)."""

    @property
    def type(self) -> str: ...
    @property
    def data(self) -> _Data: ...
    @property
    def event(self) -> Optional[str]: ...
    @property
    def id(self) -> Optional[str]: ...

@final
class ReconnectingEvent:
    """The session was lost; attempt ``attempt`` follows after ``delay`` seconds."""

    @property
    def type(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def delay(self) -> float: ...
    @property
    def error(self) -> Error: ...

@final
class ErrorEvent:
    """An error; when it ends the connection, a ClosedEvent follows."""

    @property
    def type(self) -> str: ...
    @property
    def error(self) -> Error: ...

@final
class ClosedEvent:
    """The connection is over: always the last event, exactly once."""

    @property
    def type(self) -> str: ...
    @property
    def code(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def clean(self) -> bool: ...
    @property
    def unsent(self) -> List[_Data]: ...

@final
class Connection:
    def try_recv(self) -> Optional[_Event]: ...
    def set_notifier(self, notifier: LoopNotifier, id: int) -> None: ...
    def poll_event(self) -> Optional[_Event]: ...
    def recv_blocking(self, timeout: Optional[float] = None) -> Optional[_Event]: ...
    def send(
        self, data: _Message, loop: asyncio.AbstractEventLoop
    ) -> Optional[asyncio.Future[None]]: ...
    def send_blocking(self, data: _Message) -> None: ...
    def try_send(self, data: _Message) -> None: ...
    def close(self, code: Optional[int] = None, reason: Optional[str] = None) -> None: ...
    def wait_closed_blocking(self, timeout: Optional[float] = None) -> bool: ...
    def closed_error(self) -> Error: ...
    @property
    def transport(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def subprotocol(self) -> Optional[str]: ...
    @property
    def response_headers(self) -> List[Tuple[str, str]]: ...
    @property
    def closed_event(self) -> Optional[ClosedEvent]: ...
    @property
    def finished(self) -> bool: ...
    @property
    def buffered_amount(self) -> int: ...
    @property
    def unsent(self) -> List[_Data]: ...

@final
class LoopNotifier:
    def __new__(cls) -> LoopNotifier: ...
    def fileno(self) -> int: ...
    def take_ready(self) -> List[int]: ...

@final
class Resolve:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class CancelTask:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

def connect_async(
    loop: asyncio.AbstractEventLoop, url: str, options: Options
) -> asyncio.Future[Connection]: ...
def connect_blocking(url: str, options: Options) -> Connection: ...
def error_for_kind(kind: str, message: str = "test") -> Error: ...
def _at_exit() -> None: ...
