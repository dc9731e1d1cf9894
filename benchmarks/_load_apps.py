"""Server apps for benchmarks/load.py: the hub and a raw Starlette endpoint holding the
same sockets and sending the same periodic messages.  ``POST /publish?count=&interval=``
starts the periodic publishes (every room gets ``count`` messages)."""

from __future__ import annotations

import asyncio
import json
import resource
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sockethub import ISocket, SocketHub

ROOMS = 10
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

# -- the hub --------------------------------------------------------------------------------
hub = SocketHub("/ws")
room = hub.channel("room:{id}")


@room.on_receive("ping")
async def ping(payload: Any, sock: ISocket) -> Any:
    return payload


async def hub_publish(request: Request) -> JSONResponse:
    count, interval = int(request.query_params["count"]), float(request.query_params["interval"])

    async def run() -> None:
        for seq in range(count):
            for r in range(ROOMS):
                await hub.publish(f"room:{r}", "tick", {"seq": seq})
            await asyncio.sleep(interval)

    asyncio.get_running_loop().create_task(run())
    return JSONResponse({"ok": True})


hub_app = Starlette(
    routes=[hub, Route("/publish", hub_publish, methods=["POST"])], lifespan=hub.lifespan
)

# -- the raw baseline: a dict of sets of sockets, one json.dumps per message ----------------
rooms: dict[str, set[WebSocket]] = {}


async def raw_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    joined: list[str] = []
    try:
        while True:
            msg = json.loads(await ws.receive_text())
            if msg["event"] == "join":
                rooms.setdefault(msg["topic"], set()).add(ws)
                joined.append(msg["topic"])
                await ws.send_text(
                    json.dumps({"topic": msg["topic"], "event": "reply", "ref": msg.get("ref")})
                )
    except WebSocketDisconnect:
        pass
    finally:
        for topic in joined:
            rooms[topic].discard(ws)


async def raw_publish(request: Request) -> JSONResponse:
    count, interval = int(request.query_params["count"]), float(request.query_params["interval"])

    async def run() -> None:
        for seq in range(count):
            for r in range(ROOMS):
                topic = f"room:{r}"
                text = json.dumps({"topic": topic, "event": "tick", "payload": {"seq": seq}})
                for ws in list(rooms.get(topic, ())):
                    try:
                        await ws.send_text(text)
                    except Exception:
                        rooms[topic].discard(ws)
            await asyncio.sleep(interval)

    asyncio.get_running_loop().create_task(run())
    return JSONResponse({"ok": True})


raw_app = Starlette(
    routes=[WebSocketRoute("/ws", raw_endpoint), Route("/publish", raw_publish, methods=["POST"])]
)
