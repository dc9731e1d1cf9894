"""The server of ``benchmarks/presence.py`` (run by uvicorn in a child process).

``/ws?user=U``: ``room:{id}`` tracks ``U`` on join (a presence channel); ``plain:{id}``
has no presence.  ``POST /fill/{topic}/{n}`` tracks ``n`` server-side keys on ``topic``;
``POST /publish/{topic}/{n}`` publishes ``n`` messages.  ``SOCKETHUB_REDIS`` set: the
Redis bus and store (presence bound from ``PRESENCE_HEARTBEAT`` / ``PRESENCE_DEAD_AFTER``).
Works on revisions without presence too (``plain:`` and ``/publish`` only).
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sockethub import ISocket, SocketHub

# A revision before presence: its SocketHub.channel takes no presence argument.  (Not an
# import test: the editable install would find this tree's sockethub.presence.)
HAS_PRESENCE = "presence" in inspect.signature(SocketHub.channel).parameters


def _hub() -> SocketHub:
    url = os.environ.get("SOCKETHUB_REDIS")
    if not url:
        return SocketHub("/ws")
    from sockethub.bus.redis import RedisSocketBus

    bus = RedisSocketBus(url, prefix=os.environ.get("SOCKETHUB_PREFIX", "bench:"))
    if not HAS_PRESENCE:
        return SocketHub("/ws", bus=bus)
    from sockethub.presence.redis import RedisPresence

    store = RedisPresence.for_bus(
        bus,
        heartbeat_interval=float(os.environ.get("PRESENCE_HEARTBEAT", "1.0")),
        dead_after=float(os.environ.get("PRESENCE_DEAD_AFTER", "5.0")),
    )
    return SocketHub("/ws", bus=bus, presence=store)


hub = _hub()
plain = hub.channel("plain:{id}")
if HAS_PRESENCE:
    room = hub.channel("room:{id}", presence=True)

    @room.on_join
    async def join(params: dict[str, str], sock: ISocket) -> None:
        await sock.track(sock.query_params.get("user", "anon"), {"status": "online"})


async def fill(request: Request) -> JSONResponse:
    topic, n = request.path_params["topic"], int(request.path_params["n"])
    for i in range(n):
        await hub.presence.track(topic, f"user-{i:05d}", {"status": "online", "i": i})
    return JSONResponse({"tracked": n})


async def publish(request: Request) -> JSONResponse:
    topic, n = request.path_params["topic"], int(request.path_params["n"])
    payload: dict[str, Any] = {"text": "x" * 64}
    for _ in range(n):
        await hub.publish(topic, "msg", payload)
    return JSONResponse({"published": n})


async def pid(request: Request) -> JSONResponse:
    return JSONResponse({"pid": os.getpid()})


app = Starlette(
    routes=[
        hub,
        Route("/fill/{topic}/{n:int}", fill, methods=["POST"]),
        Route("/publish/{topic}/{n:int}", publish, methods=["POST"]),
        Route("/pid", pid),
    ],
    lifespan=hub.lifespan,
)
