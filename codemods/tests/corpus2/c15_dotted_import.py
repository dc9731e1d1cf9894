"""`import sockethub.websocket` and dotted names."""

from typing import Any

from starlette.applications import Starlette

import sockethub.websocket

route = sockethub.websocket.WebSocketRoute("/c15/{n:int}")
room = route.channel("room:{id}")


@route.on_connect
async def connect(sock, n) -> None:
    sock.assigns["n"] = n


@room.on_receive("double")
async def double(payload: Any, sock) -> None:
    await sock.reply(sock.assigns["n"] * 2)


@route.handler
async def handler(n: int) -> None:
    return None


app = Starlette(routes=[route])
