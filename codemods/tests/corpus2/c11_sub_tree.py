"""A sub tree: a bare container, a managed child with its own managed child, a
low-level route with a managed child, and a managed route with a managed child."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

api = WebSocketRoute("ws")  # no leading slash: 0.1 adds it
v1 = api.sub("v1")
room = v1.channel("room:{id}")
admin = v1.sub("/admin")
audit = admin.channel("audit:{x}")

raw = WebSocketRoute("/raw")


@raw.endpoint
async def echo(sock: ISocket) -> None:
    await sock.accept()
    await sock.send_text(await sock.receive_text())
    await sock.close()


kids = raw.sub("kids")
toy = kids.channel("toy:{id}")

chat = WebSocketRoute("/chat")
lobby = chat.channel("lobby:{id}")
side = chat.sub("side")
corner = side.channel("corner:{id}")


@room.on_receive("ping")
@audit.on_receive("ping")
@toy.on_receive("ping")
@lobby.on_receive("ping")
@corner.on_receive("ping")
async def ping(payload: Any, sock: ISocket) -> None:
    await sock.reply({"pong": payload, "path": sock.scope["path"]})


app = Starlette(routes=[api, raw, chat])
