"""Keyword arguments to the constructor."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute(path="/c17", middlewares=[])
room = route.channel(pattern="room:{id}") if False else route.channel("room:{id}")


@room.on_receive("hi")
async def hi(payload: Any, sock: ISocket) -> None:
    await sock.reply("hi")


app = Starlette(routes=[route])
