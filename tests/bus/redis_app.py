"""A small SocketHub app on the Redis bus, served by real uvicorn processes in tests.

Configuration comes from the environment so that several processes can share one Redis:
``SOCKETHUB_REDIS_URL`` (required) and ``SOCKETHUB_REDIS_PREFIX``.  Clients join
``room:{id}`` and send ``say``: the payload is published to the room, sender included
(``say_to_others``: sender excluded).
``GET /health`` answers 200 with the bus's health when it is healthy, 503 otherwise.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sockethub import ISocket, SocketHub
from sockethub.bus.redis import RedisSocketBus

bus = RedisSocketBus(
    os.environ["SOCKETHUB_REDIS_URL"],
    prefix=os.environ.get("SOCKETHUB_REDIS_PREFIX", "sockethub:"),
    reconnect_max=float(os.environ.get("SOCKETHUB_REDIS_RECONNECT_MAX", "1.0")),
)
hub = SocketHub("/ws", bus=bus)
room = hub.channel("room:{room_id}")


@room.on_join
async def join(params: dict[str, str], sock: ISocket) -> None:
    return None


@room.on_receive("say")
async def say(payload: Any, sock: ISocket) -> None:
    await sock.publish(payload)


@room.on_receive("say_to_others")
async def say_to_others(payload: Any, sock: ISocket) -> None:
    await sock.publish(payload, exclude_self=True)


async def health(request: Request) -> JSONResponse:
    status = await bus.health()
    return JSONResponse(
        {**dataclasses.asdict(status), "pid": os.getpid()},
        status_code=200 if status.healthy else 503,
    )


app = Starlette(routes=[Route("/health", health), hub], lifespan=hub.lifespan)
