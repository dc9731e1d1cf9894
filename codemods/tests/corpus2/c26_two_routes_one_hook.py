"""One hook function stacked on two routes."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

a = WebSocketRoute("/c26/a")
b = WebSocketRoute("/c26/b")
ra = a.channel("room:{id}")
rb = b.channel("room:{id}")


@a.on_connect
@b.on_connect
async def connect(sock: ISocket) -> None:
    sock.assigns["path"] = sock.scope["path"]


@ra.on_receive("path")
@rb.on_receive("path")
async def path(payload: Any, sock: ISocket) -> None:
    await sock.reply(sock.assigns["path"])


app = Starlette(routes=[a, b])
