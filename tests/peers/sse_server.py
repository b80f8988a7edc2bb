"""Server-Sent Events peer built on the third-party `sse-starlette` (on uvicorn).

Listens on 127.0.0.1 (port 0 unless given), prints ``PORT <n>`` once ready.
Stops when stdin closes or after ``--idle`` seconds.

Endpoints:
- ``/events?total=N&per_conn=K&then=STATUS`` events with ids 1..N, type ``tick``
  every third, resuming after the request's ``Last-Event-ID``; each connection
  sends at most K events, then ends the stream (with ``hold=1``: keeps it open,
  silent, until the client leaves). Once all N were sent, further requests get
  STATUS (default 204).
- ``/retry?ms=M``  sends ``retry: M`` and one event, then ends the stream.
- ``/status/{code}``  answers with that status (and a short body).
- ``/html``  a 200 with ``text/html``.
- ``/gzip``  a gzip-encoded event stream of three events.
- ``/headers``  one event whose data is the request headers as JSON.
- ``/redirect?to=URL``  302 to URL.
- ``/send``  POST: records the body (see ``/stats``).
- ``/stats``  JSON: Last-Event-ID values seen, request times per path, bodies sent.
"""

import argparse
import asyncio
import json
import socket
import sys
import time
import zlib

import uvicorn
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

STATS = {"last_event_ids": [], "times": {}, "sent": []}


def seen(request: Request):
    STATS["times"].setdefault(request.url.path, []).append(time.monotonic())
    STATS["last_event_ids"].append(request.headers.get("last-event-id"))


async def events(request: Request):
    seen(request)
    total = int(request.query_params.get("total", "6"))
    per_conn = int(request.query_params.get("per_conn", "2"))
    then = int(request.query_params.get("then", "204"))
    hold = request.query_params.get("hold") == "1"
    last = request.headers.get("last-event-id")
    start = int(last) + 1 if last and last.isdigit() else 1
    if start > total:
        return Response(status_code=then)

    async def gen():
        for i in range(start, min(total, start + per_conn - 1) + 1):
            kind = "tick" if i % 3 == 0 else None
            yield ServerSentEvent(data=f"event {i}", id=str(i), event=kind)
        if hold:
            await asyncio.sleep(600)

    return EventSourceResponse(gen(), ping=600)


async def retry(request: Request):
    seen(request)
    ms = int(request.query_params.get("ms", "300"))

    async def gen():
        yield ServerSentEvent(data="hello", retry=ms)

    return EventSourceResponse(gen(), ping=600)


async def status(request: Request):
    seen(request)
    code = int(request.path_params["code"])
    if code in (204, 304):
        return Response(status_code=code)
    return PlainTextResponse(f"status {code}", status_code=code)


async def html(request: Request):
    seen(request)
    return Response("<html>not a stream</html>", media_type="text/html")


async def gzipped(request: Request):
    seen(request)

    async def gen():
        z = zlib.compressobj(wbits=31)
        for i in range(1, 4):
            yield z.compress(f"id: {i}\ndata: zipped {i}\n\n".encode()) + z.flush(zlib.Z_SYNC_FLUSH)
            await asyncio.sleep(0.01)
        yield z.flush()

    return StreamingResponse(
        gen(), media_type="text/event-stream", headers={"Content-Encoding": "gzip"}
    )


async def headers(request: Request):
    seen(request)
    data = json.dumps({k.lower(): v for k, v in request.headers.items()})

    async def gen():
        yield ServerSentEvent(data=data)

    return EventSourceResponse(gen(), ping=600)


async def redirect(request: Request):
    seen(request)
    return RedirectResponse(request.query_params["to"], status_code=302)


async def send(request: Request):
    seen(request)
    STATS["sent"].append(
        {"body": (await request.body()).decode("utf-8", "replace"), "type": request.headers.get("content-type")}
    )
    return Response(status_code=204)


async def stats(request: Request):
    return JSONResponse(STATS)


app = Starlette(
    routes=[
        Route("/events", events),
        Route("/retry", retry),
        Route("/status/{code:int}", status),
        Route("/html", html),
        Route("/gzip", gzipped),
        Route("/headers", headers),
        Route("/redirect", redirect),
        Route("/send", send, methods=["POST"]),
        Route("/stats", stats),
    ]
)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--idle", type=float, default=120.0)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    loop = asyncio.get_running_loop()

    def stop():
        server.should_exit = True

    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.buffer.read1(4096) or stop())
    loop.call_later(args.idle, stop)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    asyncio.run(main())
