"""A test module that drives a managed route with TestClient (pytest style)."""

from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from sockethub import ISocket, WebSocketRoute

route = WebSocketRoute("/c10")
room = route.channel("room:{id}")


@room.on_receive("add")
async def add(payload: Any, sock: ISocket) -> None:
    await sock.reply(sum(payload))


@route.handler
async def handler() -> None:
    return None


app = Starlette(routes=[route])


def test_add() -> None:
    with TestClient(app) as client, client.websocket_connect("/c10") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "add", "payload": [1, 2, 3]})
        assert ws.receive_json() == {"topic": "room:1", "event": "reply", "payload": 6}
