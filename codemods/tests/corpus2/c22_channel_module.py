"""Names from sockethub.channel; a helper annotated with WebSocketRoute."""

from typing import Any

from starlette.applications import Starlette

from sockethub.channel import EVENT_NOT_FOUND, ISocket
from sockethub.websocket import WebSocketRoute


def add_room(route: WebSocketRoute) -> None:
    room = route.channel("room:{id}")

    @room.on_receive("codes")
    async def codes(payload: Any, sock: ISocket) -> None:
        await sock.reply(EVENT_NOT_FOUND)


route = WebSocketRoute("/c22")
lobby = route.channel("lobby:{id}")  # managed here too, so this module sees it
add_room(route)
app = Starlette(routes=[route])
