"""The server side of ``benchmarks/fanout.py``: three fan-out servers in one Starlette app.

Run by ``fanout.py`` as ``uvicorn benchmarks._fanout_server:app --ws <impl>`` in its own
process.  Every server fans out to the clients of one topic, ``"bench"``:

* ``/hub/ws``: a :class:`sockethub.SocketHub`; clients join ``"bench"`` (with a ``ref``,
  so the join is acknowledged) and ``hub.publish`` fans out.
* ``/base/ws``: the hand-written baseline: a set of Starlette ``WebSocket`` objects; a
  publish serialises once and loops ``await ws.send_text(text)`` over the set.
* ``/bcast/ws``: ``broadcaster``'s memory backend, the way its README wires a chat: one
  subscriber task per socket forwarding ``Broadcast.subscribe`` events to the socket.

For the last two the server sends ``"ready"`` once the socket is subscribed.

``POST /publish/{kind}?count=&size=&start=&spread=`` publishes ``count`` messages
``{"topic": "bench", "event": "msg", "payload": {"seq": start + i, "data": "x" * size}}``
through server ``kind`` (``hub``, ``base`` or ``bcast``) and returns when the server's
publish calls have returned: back to back, or with ``spread=1`` one per turn of the event
loop (``await asyncio.sleep(0)`` between them, as publishes caused by separate events).  ``GET /stats`` reports subscriber counts, the hub's
counters and the process's RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from broadcaster import Broadcast
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sockethub import HubLimits, ISocket, SocketHub
from sockethub.envelope import dumps

TOPIC = "bench"

# -- (a) the hub ---------------------------------------------------------------------------

hub = SocketHub(
    "/hub/ws",
    limits=HubLimits(outbox_bytes=int(os.environ.get("FANOUT_OUTBOX_BYTES", 1024 * 1024))),
)
bench = hub.channel(TOPIC)
hub_sockets: set[ISocket] = set()  # for /stats only: the backlog of each outbox


@bench.on_join
async def on_join(params: dict[str, str], sock: ISocket) -> None:
    hub_sockets.add(sock)


@bench.on_exit
async def on_exit(sock: ISocket) -> None:
    hub_sockets.discard(sock)


async def publish_hub(payloads: list[dict[str, Any]], spread: bool) -> None:
    for payload in payloads:
        await hub.publish(TOPIC, "msg", payload)
        if spread:
            await asyncio.sleep(0)


# -- (b) the hand-written baseline -------------------------------------------------------

baseline: set[WebSocket] = set()


async def baseline_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    baseline.add(ws)
    try:
        await ws.send_text("ready")
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
    finally:
        baseline.discard(ws)


async def publish_baseline(payloads: list[dict[str, Any]], spread: bool) -> None:
    for payload in payloads:
        if spread:
            await asyncio.sleep(0)
        text = dumps({"topic": TOPIC, "event": "msg", "payload": payload})
        for ws in list(baseline):
            try:
                await ws.send_text(text)
            except Exception:
                baseline.discard(ws)


# -- (c) broadcaster's memory backend ----------------------------------------------------

broadcast = Broadcast("memory://")


async def broadcaster_endpoint(ws: WebSocket) -> None:
    await ws.accept()

    async def forward() -> None:
        async with broadcast.subscribe(TOPIC) as subscriber:
            await ws.send_text("ready")
            async for event in subscriber:  # type: ignore[union-attr]
                assert event is not None
                await ws.send_text(event.message)

    sender = asyncio.create_task(forward())
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender


last_size = 0


async def publish_broadcaster(payloads: list[dict[str, Any]], spread: bool) -> None:
    global last_size
    for payload in payloads:
        text = dumps({"topic": TOPIC, "event": "msg", "payload": payload})
        last_size = len(text)
        await broadcast.publish(TOPIC, text)
        if spread:
            await asyncio.sleep(0)


# -- control -------------------------------------------------------------------------------

PUBLISHERS = {"hub": publish_hub, "base": publish_baseline, "bcast": publish_broadcaster}


async def publish(request: Request) -> Response:
    kind = request.path_params["kind"]
    count = int(request.query_params.get("count", "1"))
    size = int(request.query_params.get("size", "64"))
    start = int(request.query_params.get("start", "0"))
    data = "x" * size
    spread = request.query_params.get("spread") == "1"
    payloads = [{"seq": start + i, "data": data} for i in range(count)]
    await PUBLISHERS[kind](payloads, spread)
    return Response(status_code=204)


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def stats(request: Request) -> Response:
    bus = hub.bus
    subscribers = getattr(bus, "subscriber_count", None)
    return JSONResponse(
        {
            "hub": subscribers(TOPIC) if subscribers is not None else None,
            "base": len(baseline),
            "bcast": len(broadcast._subscribers.get(TOPIC, ())),
            "slow_closes": hub.stats.slow_closes,
            "connections": hub.stats.connections,
            "rss": _rss_bytes(),
            # The largest backlog any one socket has now, in bytes.
            "backlog": {
                "hub": max(
                    (s._session.outbox.queued_bytes for s in hub_sockets if s._session),  # type: ignore[attr-defined]
                    default=0,
                ),
                "base": 0,  # no queue: the publisher waits instead
                "bcast": max((q.qsize() for q in broadcast._subscribers.get(TOPIC, ())), default=0)
                * last_size,
            },
        }
    )


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with hub.lifespan(app), broadcast:
        yield


app = Starlette(
    routes=[
        hub,
        WebSocketRoute("/base/ws", baseline_endpoint),
        WebSocketRoute("/bcast/ws", broadcaster_endpoint),
        Route("/publish/{kind}", publish, methods=["POST"]),
        Route("/stats", stats),
    ],
    lifespan=lifespan,
)
