"""A low-level route and a managed route in one module."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

raw = WebSocketRoute("/c23/raw")


@raw.endpoint
async def raw_echo(sock: ISocket) -> None:
    await sock.accept()
    await sock.close()


managed = WebSocketRoute("/c23")
room = managed.channel("room:{id}")


@room.on_receive("kind")
async def kind(payload: Any, sock: ISocket) -> None:
    await sock.reply("managed")


app = Starlette(routes=[raw, managed])
