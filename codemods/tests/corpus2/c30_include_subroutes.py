"""include_subroutes (0.1's older alias of merge) with a prefix."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

top = WebSocketRoute("/c30")
top.channel("top:{id}")
v2 = WebSocketRoute("/c30/v2")
items = v2.channel("item:{id}")
top.include_subroutes(v2, parent_prefix="/c30")


@items.on_receive("get")
async def get(payload: Any, sock: ISocket) -> None:
    await sock.reply({"item": sock.params["id"], "path": sock.scope["path"]})


app = Starlette(routes=[top])
