"""The server side of ``benchmarks/redis_fanout.py``: one SocketHub on a chosen bus.

Run by ``redis_fanout.py`` as ``uvicorn benchmarks._redis_fanout_server:app`` in its own
process(es).  Environment: ``FANOUT_BUS`` (``memory`` or ``redis``), and for Redis
``FANOUT_REDIS_URL`` and ``FANOUT_REDIS_PREFIX`` (every process of one scenario shares the
prefix, so they share the topic).

Clients join ``"bench"`` with a ``ref`` (the join is acknowledged once the subscription,
Redis included, is live).  ``POST /publish?count=&size=&start=`` publishes ``count``
messages ``{"seq": start + i, "data": "x" * size}`` with ``hub.publish`` and returns when
the publish calls have returned (delivery goes on asynchronously); with ``paced=1`` it
yields to the event loop after each publish.  ``GET /health``
reports the bus's health.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sockethub import SocketHub
from sockethub.bus import InMemorySocketBus, SocketBus

TOPIC = "bench"

if os.environ.get("FANOUT_BUS", "memory") == "redis":
    from sockethub.bus.redis import RedisSocketBus

    bus: SocketBus = RedisSocketBus(
        os.environ["FANOUT_REDIS_URL"], prefix=os.environ.get("FANOUT_REDIS_PREFIX", "bench:")
    )
else:
    bus = InMemorySocketBus()

hub = SocketHub("/ws", bus=bus)
hub.channel(TOPIC)


async def publish(request: Request) -> Response:
    count = int(request.query_params.get("count", "100"))
    size = int(request.query_params.get("size", "64"))
    start = int(request.query_params.get("start", "0"))
    paced = request.query_params.get("paced") == "1"
    data = "x" * size
    for i in range(count):
        await hub.publish(TOPIC, "msg", {"seq": start + i, "data": data})
        if paced:
            await asyncio.sleep(0)  # one message per turn of the event loop, as via Redis
    return JSONResponse({"published": count})


async def health(request: Request) -> Response:
    health = getattr(bus, "health", None)
    if health is None:
        return JSONResponse({"healthy": True, "pid": os.getpid()})
    status = await health()
    return JSONResponse(
        {**dataclasses.asdict(status), "pid": os.getpid()},
        status_code=200 if status.healthy else 503,
    )


app = Starlette(
    routes=[Route("/publish", publish, methods=["POST"]), Route("/health", health), hub],
    lifespan=hub.lifespan,
)
