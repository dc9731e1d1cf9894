"""A factory that builds and returns the route; the app calls it."""

from typing import Any

from starlette.applications import Starlette

from sockethub import ISocket, WebSocketRoute


def make_route(prefix: str) -> WebSocketRoute:
    route = WebSocketRoute(prefix + "/{room}")
    chan = route.channel("msg:{id}")

    @route.on_connect
    async def connect(sock: ISocket, room: str) -> None:
        sock.assigns["room"] = room

    @chan.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.reply({"pong": payload, "room": sock.assigns["room"]})

    @route.handler
    async def handler(room: str) -> None:
        return None

    return route


app = Starlette(routes=[make_route("/c04")])
