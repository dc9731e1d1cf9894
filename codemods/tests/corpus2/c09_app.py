"""The app half of c09: hooks and callbacks on a route imported from c09_routes."""

from typing import Any

from c09_routes import chat, room
from starlette.applications import Starlette

from sockethub import ISocket

CALLS: list[Any] = []


@chat.on_connect
async def connect(sock: ISocket) -> None:
    CALLS.append("connect")


@room.on_receive("say")
async def say(payload: Any, sock: ISocket) -> None:
    await sock.reply({"room": sock.params["id"], "said": payload})


app = Starlette(routes=[chat])
