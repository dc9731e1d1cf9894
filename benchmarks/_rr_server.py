"""Server for benchmarks/request_reply.py: the hub's echo and a raw Starlette echo, side by
side in one app, answering the same request with the same reply bytes."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sockethub import ISocket, SocketHub

hub = SocketHub("/hub")
room = hub.channel("room:{id}")


@room.on_receive("echo")
async def echo(payload: Any, sock: ISocket) -> Any:
    return payload


async def raw(ws: WebSocket) -> None:
    """The baseline: parse each request and answer the reply the hub would send."""
    await ws.accept()
    try:
        while True:
            msg = json.loads(await ws.receive_text())
            if msg.get("event") == "join":
                continue
            reply = {
                "topic": msg["topic"],
                "event": "reply",
                "payload": {"status": "ok", "response": msg.get("payload")},
                "ref": msg["ref"],
            }
            await ws.send_text(json.dumps(reply, separators=(",", ":"), ensure_ascii=False))
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[hub, WebSocketRoute("/raw", raw)], lifespan=hub.lifespan)
