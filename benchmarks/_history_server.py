"""The server of ``benchmarks/history.py``: one topic pattern with history, one without.

``BENCH_BUS`` is ``memory`` or ``redis`` (then ``BENCH_REDIS_URL`` and ``BENCH_PREFIX``).
``POST /publish`` with ``{"topic", "count"}`` publishes ``count`` messages
``{"i": i, "data": "x" * 64}`` (event ``msg``) with ``hub.publish``, one after the other.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sockethub import SocketHub
from sockethub.bus import InMemorySocketBus, SocketBus
from sockethub.history import History

bus: SocketBus
if os.environ.get("BENCH_BUS", "memory") == "redis":
    from sockethub.bus.redis import RedisSocketBus

    bus = RedisSocketBus(os.environ["BENCH_REDIS_URL"], prefix=os.environ["BENCH_PREFIX"])
else:
    bus = InMemorySocketBus()

hub = SocketHub("/ws", bus=bus)
hub.channel("hist:{id}", history=History(size=5000, ttl=600))
hub.channel("plain:{id}")
DATA = "x" * 64


async def publish(request: Request) -> Response:
    body = await request.json()
    topic = body["topic"]
    for i in range(int(body["count"])):
        await hub.publish(topic, "msg", {"i": i, "data": DATA})
    return Response(status_code=204)


app = Starlette(routes=[Route("/publish", publish, methods=["POST"]), hub], lifespan=hub.lifespan)
