"""The keyword arguments shared by ``rtwire.connect`` and
``rtwire.sync.connect``, turned into checked native options."""

from __future__ import annotations

import os
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

from ._rtwire import Cursor, Options, Reconnect

HeadersLike = Union[Mapping[str, str], Iterable[Tuple[str, str]]]
PathLike = Union[str, "os.PathLike[str]"]


def make_options(
    *,
    transport: str = "auto",
    headers: Optional[HeadersLike] = None,
    subprotocols: Optional[Sequence[str]] = None,
    origin: Optional[str] = None,
    reconnect: Union[bool, Reconnect] = True,
    open_timeout: float = 10.0,
    close_timeout: float = 10.0,
    ping_interval: Optional[float] = 20.0,
    ping_timeout: float = 20.0,
    max_message_size: int = 64 * 1024 * 1024,
    max_frame_size: int = 16 * 1024 * 1024,
    send_queue_bytes: int = 8 * 1024 * 1024,
    event_queue: int = 256,
    proxy: Union[str, bool, None] = True,
    cafile: Optional[PathLike] = None,
    cadata: Union[str, bytes, None] = None,
    certfile: Optional[PathLike] = None,
    keyfile: Optional[PathLike] = None,
    insecure: bool = False,
    send_url: Optional[str] = None,
    last_event_id: Optional[str] = None,
    read_timeout: float = 60.0,
    poll_interval: float = 5.0,
    long_poll_timeout: float = 65.0,
    long_poll_post: bool = False,
    json_array: bool = False,
    cursor: Optional[Cursor] = None,
    framing: str = "lines",
    max_line: int = 1024 * 1024,
    retry_server_errors: bool = False,
    max_redirects: int = 10,
    rtwire_protocol: bool = False,
) -> Options:
    """Checks the arguments (``TypeError``/``ValueError`` naming the one that
    is wrong) and builds the native options."""
    return Options(
        transport=transport,
        headers=headers,
        subprotocols=subprotocols,
        origin=origin,
        reconnect=reconnect,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_message_size=max_message_size,
        max_frame_size=min(max_frame_size, max_message_size)
        if isinstance(max_frame_size, int) and isinstance(max_message_size, int)
        else max_frame_size,
        send_queue_bytes=send_queue_bytes,
        event_queue=event_queue,
        proxy=False if proxy is None else proxy,
        cafile=cafile,
        cadata=cadata,
        certfile=certfile,
        keyfile=keyfile,
        insecure=insecure,
        send_url=send_url,
        last_event_id=last_event_id,
        read_timeout=read_timeout,
        poll_interval=poll_interval,
        long_poll_timeout=long_poll_timeout,
        long_poll_post=long_poll_post,
        json_array=json_array,
        cursor=cursor,
        framing=framing,
        max_line=max_line,
        retry_server_errors=retry_server_errors,
        max_redirects=max_redirects,
        rtwire_protocol=rtwire_protocol,
        disable_ping=ping_interval is None,
    )
