"""A managed child made by sub, with its own hooks and parameters."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

base = WebSocketRoute("/c27")
base.channel("top:{id}")
child = base.sub("/rooms/{room}")
chat = child.channel("chat:{id}")


@child.on_connect
async def child_connect(sock: ISocket, room: str, nick: str = "n") -> None:
    sock.assigns.update(room=room, nick=nick)


@chat.on_receive("who")
async def who(payload: Any, sock: ISocket) -> None:
    await sock.reply(sock.assigns)


@child.handler
async def child_handler(room: str, nick: str = "n") -> None:
    return None


app = Starlette(routes=[base])
