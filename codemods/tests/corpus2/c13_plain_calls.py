"""Hooks and callbacks registered by plain calls, not decorators."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c13")
room = route.channel("room:{id}")


async def connect(sock: ISocket, tag: str = "t") -> None:
    sock.assigns["tag"] = tag


async def shout(payload: Any, sock: ISocket) -> None:
    await sock.reply({"tag": sock.assigns["tag"], "up": str(payload).upper()})


async def noop(tag: str = "t") -> None:
    return None


route.on_connect(connect)
room.on_receive("shout")(shout)
route.handler(noop)
app = Starlette(routes=[route])
