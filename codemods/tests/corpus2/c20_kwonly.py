"""A hook with keyword-only parameters."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c20")
room = route.channel("room:{id}")


@route.on_connect
async def connect(sock: ISocket, *, user: str, level: int = 1) -> None:
    sock.assigns.update(user=user, level=level)


@room.on_receive("me")
async def me(payload: Any, sock: ISocket) -> None:
    await sock.reply(sock.assigns)


@route.handler
async def handler(user: str, level: int = 1) -> None:
    """Declares the parameters."""
    ...


app = Starlette(routes=[route])
