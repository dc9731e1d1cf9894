"""`str | None` and `float` handler parameters."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c25")
room = route.channel("room:{id}")


@route.on_connect
async def connect(sock: ISocket, name: str | None, scale: float = 1.0) -> None:
    sock.assigns.update(name=name, scale=scale)


@room.on_receive("info")
async def info(payload: Any, sock: ISocket) -> None:
    await sock.reply(sock.assigns)


@route.handler
async def handler(name: str | None, scale: float = 1.0) -> None:
    return None


app = Starlette(routes=[route])
