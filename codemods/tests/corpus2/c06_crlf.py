"""CRLF line endings, an optional int parameter."""

from typing import Any, Optional

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c06")
room = route.channel("room:{id}")


@route.on_connect
async def connect(sock: ISocket, page: Optional[int] = None) -> None:
    sock.assigns["page"] = page


@room.on_receive("page")
async def page(payload: Any, sock: ISocket) -> None:
    await sock.reply({"page": sock.assigns["page"]})


@route.handler
async def handler(page: Optional[int] = None) -> None:
    ...


app = Starlette(routes=[route])
