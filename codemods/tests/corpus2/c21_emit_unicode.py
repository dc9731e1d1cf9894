"""emit with custom events and non-ASCII payloads."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c21")
room = route.channel("room:{id}")


@room.on_receive("greet")
async def greet(payload: Any, sock: ISocket) -> None:
    await sock.emit({"text": f"héllo {payload} ✓"}, event="greeting")
    await sock.send_json({"raw": "ünïcode"})


app = Starlette(routes=[route])
