"""Native module of rtwire (Rust, pyo3). Use the package ``rtwire`` instead."""

import asyncio
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, final

from ._schema import ConnectOptions, CursorOptions, ReconnectOptions, Unpack
from .exceptions import Error

__all__ = [
    "__version__",
    "CORE_VERSION",
    "BUILD_PROFILE",
    "ERROR_KINDS",
    "TRANSPORTS",
    "Options",
    "Reconnect",
    "Cursor",
    "Connection",
    "Server",
    "ServerStats",
    "ChannelStats",
    "LoopNotifier",
    "Resolve",
    "CancelTask",
    "Pending",
    "AcceptReply",
    "OpenEvent",
    "MessageEvent",
    "ReconnectingEvent",
    "ErrorEvent",
    "ClosedEvent",
    "connect_async",
    "connect_blocking",
    "serve",
    "error_for_kind",
    "option_schema",
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
    before attempt n is drawn from [0, min(max_delay, initial_delay * 2**(n-1))].
    The keywords and attributes are the options of the schema group
    ``reconnect``."""

    def __new__(cls, **kw: Unpack[ReconnectOptions]) -> Reconnect: ...
    @property
    def initial_delay(self) -> float: ...
    @property
    def max_delay(self) -> float: ...
    @property
    def max_attempts(self) -> Optional[int]: ...
    @property
    def retry_initial(self) -> bool: ...

@final
class Cursor:
    """Where a long-polling or streaming cursor is read from (``header`` or
    ``json_field``, exactly one) and sent back (``query``, default
    ``"cursor"``, or ``send_header``), and the first one (``initial``). The
    keywords and attributes are the options of the schema group
    ``http.cursor``."""

    def __new__(cls, **kw: Unpack[CursorOptions]) -> Cursor: ...
    @property
    def header(self) -> Optional[str]: ...
    @property
    def json_field(self) -> Optional[str]: ...
    @property
    def query(self) -> Optional[str]: ...
    @property
    def send_header(self) -> Optional[str]: ...
    @property
    def initial(self) -> Optional[str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

@final
class Options:
    """Checked connection options, from the keywords of ``rtwire.connect``."""

    def __new__(cls, **options: Unpack[ConnectOptions]) -> Options: ...
    def get(self, name: str) -> Any:
        """The value of the option with canonical name ``name``."""

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

_RequestTuple = Tuple[int, Tuple[str, int], str, str, List[Tuple[str, str]], Optional[str]]

@final
class Pending:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class AcceptReply:
    def __call__(self, status: Optional[int] = None, body: str = "") -> None: ...

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
class ChannelStats:
    """Figures of one channel of a server."""

    @property
    def name(self) -> str: ...
    @property
    def published(self) -> int: ...
    @property
    def history(self) -> int: ...
    @property
    def subscribers(self) -> int: ...

@final
class ServerStats:
    """Server-wide figures: open connections, and per channel by name."""

    @property
    def connections(self) -> int: ...
    @property
    def channels(self) -> Dict[str, ChannelStats]: ...

@final
class Server:
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def epoch(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def dropped(self) -> int: ...
    def publish(self, channel: str, data: _Message) -> str: ...
    def stats(self) -> ServerStats: ...
    def disconnect_all(self) -> None: ...
    def set_inbox(self, capacity: Optional[int]) -> None: ...
    def next_message(self, timeout: Optional[float] = None) -> Optional[Tuple[str, _Data]]: ...
    def close(self) -> None: ...
    def close_async(self, loop: asyncio.AbstractEventLoop) -> Optional[asyncio.Future[None]]: ...

@final
class LoopNotifier:
    def __new__(cls, watch: Optional[Callable[[int, int, bool, bool], None]] = None) -> LoopNotifier: ...
    def fileno(self) -> int: ...
    @property
    def hosting(self) -> bool: ...
    @property
    def tasks(self) -> int: ...
    def take_ready(self) -> List[int]: ...
    def io_ready(self, token: int, readable: bool, writable: bool) -> List[int]: ...

@final
class Resolve:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class CancelTask:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

def connect_async(
    loop: asyncio.AbstractEventLoop, url: str, options: Options, notifier: Optional[LoopNotifier] = None
) -> asyncio.Future[Connection]: ...
def connect_blocking(url: str, options: Options) -> Connection: ...
def serve(
    host: str,
    port: int,
    *,
    history: int,
    client_queue: int,
    token: Optional[str],
    tls_cert: Optional[_Path],
    tls_key: Optional[_Path],
    allowed_origins: Optional[Sequence[str]],
    cors: bool,
    ping_interval: float,
    heartbeat: float,
    long_poll_hold: float,
    max_message_size: int,
    max_headers: int,
    header_timeout: float,
    route: Optional[str] = None,
    protocols: Optional[Sequence[str]] = None,
    event_loop: Optional[asyncio.AbstractEventLoop] = None,
    on_connect: Optional[Callable[[Connection, _RequestTuple], None]] = None,
    on_accept: Optional[Callable[[_RequestTuple, AcceptReply], None]] = None,
) -> Server: ...
def error_for_kind(kind: str, message: str = "test") -> Error: ...
def option_schema() -> List[Dict[str, Any]]: ...
def _at_exit() -> None: ...
