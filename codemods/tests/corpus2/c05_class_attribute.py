"""Routes as class attributes."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute


class Routes:
    chat: WebSocketRoute = WebSocketRoute("/c05")
    room = chat.channel("room:{id}")


@Routes.room.on_receive("say")
async def say(payload: Any, sock: ISocket) -> None:
    await sock.reply({"said": payload, "topic": sock.topic})


@Routes.chat.on_connect
async def connect(sock: ISocket, nick: str = "guest") -> None:
    sock.assigns["nick"] = nick


@Routes.chat.handler
async def handler(nick: str = "guest") -> None:
    pass


app = Starlette(routes=[Routes.chat])
