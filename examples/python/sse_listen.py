#!/usr/bin/env python3
"""A Server-Sent Events listener on rtwire (blocking API).

Prints one line per event on stdout, ``{id}\t{event}\t{data}``, and status
lines on stderr. When the stream ends or the network fails it reconnects by
itself with ``Last-Event-ID`` set to the last id seen, so the server can
resume where it left off: nothing is missed or repeated. It stops when the
server answers 204 (the standard "stop" of an event stream), after
``--count`` events, after ``--idle`` quiet seconds, or on Ctrl-C. The last
id is printed at the end (``* last id: ...``) so a later run can go on
with ``--last-event-id``.

    python examples/python/sse_listen.py http://127.0.0.1:8000/events
    python examples/python/sse_listen.py http://127.0.0.1:8000/sse/news --last-event-id 42
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

import rtwire
import rtwire.sync


def main() -> int:
    ap = argparse.ArgumentParser(description="rtwire SSE listener with resume")
    ap.add_argument("url", help="http(s):// URL of an event stream")
    ap.add_argument("--last-event-id", default=None, help="resume after this id")
    ap.add_argument("--count", type=int, default=0, help="stop after this many events (0: no limit)")
    ap.add_argument("--idle", type=float, default=None, help="stop after this many quiet seconds")
    ap.add_argument("--retry-delay", type=float, default=0.5, help="longest first reconnect delay, seconds")
    args = ap.parse_args()

    try:
        conn = rtwire.sync.connect(
            args.url,
            transport="sse",
            last_event_id=args.last_event_id,
            reconnect=rtwire.Reconnect(initial_delay=args.retry_delay, max_delay=max(args.retry_delay, 10.0)),
        )
    except rtwire.HandshakeError as e:
        print(f"sse_listen: refused: HTTP {e.status} ({e.kind})", file=sys.stderr)
        return 1
    except rtwire.Error as e:
        print(f"sse_listen: cannot connect: {e} ({e.kind})", file=sys.stderr)
        return 1

    last_id: Optional[str] = args.last_event_id
    seen = 0
    status = 0
    try:
        for event in conn.events(timeout=args.idle):
            if isinstance(event, rtwire.MessageEvent):
                data = event.data if isinstance(event.data, str) else repr(event.data)
                print(f"{event.id or ''}\t{event.event or 'message'}\t{data}", flush=True)
                if event.id is not None:
                    last_id = event.id
                seen += 1
                if args.count and seen >= args.count:
                    break
            elif isinstance(event, rtwire.OpenEvent):
                print(f"* connected to {event.url} (last id {last_id})", file=sys.stderr)
            elif isinstance(event, rtwire.ReconnectingEvent):
                print(f"* stream ended ({event.error}); retry {event.attempt} in {event.delay:.2f} s", file=sys.stderr)
            elif isinstance(event, rtwire.ErrorEvent):
                err = event.error
                if isinstance(err, rtwire.HandshakeError) and err.status == 204:
                    print("* the server has no more events (204)", file=sys.stderr)
                else:
                    print(f"* error: {err} ({err.kind})", file=sys.stderr)
                    status = 1
    except rtwire.TimeoutError:
        print(f"* nothing for {args.idle} s", file=sys.stderr)
    except KeyboardInterrupt:
        print("* interrupted", file=sys.stderr)
    finally:
        conn.close()
    print(f"* last id: {last_id}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
