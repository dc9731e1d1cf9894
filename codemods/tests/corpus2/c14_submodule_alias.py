"""`from sockethub import websocket as ws_mod`."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket
from sockethub import websocket as ws_mod

route = ws_mod.WebSocketRoute("/c14")
room = route.channel("room:{id}")


@room.on_receive("id")
async def ident(payload: Any, sock: ISocket) -> None:
    await sock.reply(sock.params["id"])


app = Starlette(routes=[route])
