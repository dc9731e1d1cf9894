"""merge, with and without parent_prefix, of managed routes with hooks; the parent is
low-level in one case and managed in the other."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute

CALLS: list[Any] = []

root = WebSocketRoute("/ws")


@root.endpoint
async def hello(sock: ISocket) -> None:
    await sock.accept()
    await sock.send_text("hello")
    await sock.close()


v1 = WebSocketRoute("/ws/v1")
news = v1.channel("news:{id}")


@v1.on_connect
async def v1_connect(sock: ISocket, user: str = "anon") -> None:
    CALLS.append(("v1", user))
    sock.assigns["user"] = user


root.merge(v1, parent_prefix="/ws")  # served at /ws/v1

hub = WebSocketRoute("/api")
main = hub.channel("main:{id}")
extra = WebSocketRoute("/extra")
side = extra.channel("side:{id}")
hub.merge(extra)  # served at /api/extra


@news.on_receive("read")
@main.on_receive("read")
@side.on_receive("read")
async def read(payload: Any, sock: ISocket) -> None:
    await sock.reply({"path": sock.scope["path"], "user": sock.assigns.get("user")})


app = Starlette(routes=[root, hub])
