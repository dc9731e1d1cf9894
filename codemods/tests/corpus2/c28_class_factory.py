"""A class whose method builds the route."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute


class Chat:
    def __init__(self, path: str) -> None:
        self.route = WebSocketRoute(path)
        self.room = self.route.channel("room:{id}")
        self.room.on_receive("ask")(self.ask)

    async def ask(self, payload: Any, sock: ISocket) -> None:
        await sock.reply({"answer": 42, "q": payload})


chat = Chat("/c28")
app = Starlette(routes=[chat.route])
