"""A SocketHub app with history on the Redis bus, served by real uvicorn processes in tests.

Configuration from the environment, so that several processes share one Redis:
``SOCKETHUB_REDIS_URL`` (required), ``SOCKETHUB_REDIS_PREFIX``.  Channels ``room:{id}``
(history of 2,000) and ``small:{id}`` (history of 10); ``say`` publishes the payload.
``POST /publish`` with ``{"topic", "from", "count"}`` publishes ``count`` messages
``{"from": from, "i": i}`` (event ``said``) from server code, one after the other, and
answers the last position.  phoenix.js connects to ``/ws`` (its socket adds
``/websocket``).  ``GET /health`` answers 200 once the bus is healthy.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sockethub import ISocket, SocketHub
from sockethub.bus.redis import RedisSocketBus
from sockethub.history import History

bus = RedisSocketBus(
    os.environ["SOCKETHUB_REDIS_URL"],
    prefix=os.environ.get("SOCKETHUB_REDIS_PREFIX", "sockethub:"),
    reconnect_max=0.3,
)
hub = SocketHub("/ws", bus=bus)
room = hub.channel("room:{id}", history=History(size=2000, ttl=600))
small = hub.channel("small:{id}", history=History(size=10, ttl=600))


@room.on_receive("say")
@small.on_receive("say")
async def say(payload: Any, sock: ISocket) -> None:
    await sock.publish(payload, event="said")


# phoenix.js connects to "<endpoint>/websocket": the same channels, on the same bus.
phoenix_hub = SocketHub("/ws/websocket", bus=bus)
phoenix_hub.include(hub)


async def publish(request: Request) -> JSONResponse:
    body = await request.json()
    position = None
    for i in range(int(body["count"])):
        position = await hub.publish(body["topic"], "said", {"from": body["from"], "i": i})
    assert position is not None
    return JSONResponse({**position.as_json(), "pid": os.getpid()})


async def health(request: Request) -> JSONResponse:
    status = await bus.health()
    return JSONResponse({"pid": os.getpid()}, status_code=200 if status.healthy else 503)


app = Starlette(
    routes=[
        Route("/publish", publish, methods=["POST"]),
        Route("/health", health),
        hub,
        phoenix_hub,
    ],
    lifespan=hub.lifespan,
)
