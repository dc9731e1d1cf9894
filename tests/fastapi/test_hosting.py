"""Hubs and low-level routes hosted by FastAPI: APIRouter + include_router (nested, with
path parameters in the prefixes), app.router.routes, Mount; url_path_for on the copies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, SocketHub, WebSocketRoute
from tests.hub.helpers import TOPIC_NOT_FOUND, probe

PING = json.dumps({"topic": "nowhere", "event": "ping"})


def make_hub(path: str, seen: list[Any]) -> SocketHub:
    hub = SocketHub(path)

    @hub.on_connect
    async def connect(sock: ISocket, **params: Any) -> None:
        seen.append(dict(sock.path_params))

    return hub


def make_lowlevel(path: str) -> WebSocketRoute:
    route = WebSocketRoute(path)

    @route.endpoint
    async def echo(sock: ISocket) -> None:
        await sock.accept()
        await sock.send_json(dict(sock.path_params))
        await sock.close()

    return route


def test_hub_in_an_included_router_with_a_prefix() -> None:
    seen: list[Any] = []
    hub = make_hub("/ws/{room}", seen)
    router = APIRouter()
    router.routes.append(hub)
    app = FastAPI(lifespan=hub.lifespan)
    app.include_router(router, prefix="/api")
    with TestClient(app) as client:
        with client.websocket_connect("/api/ws/r1") as ws:
            probe(ws)
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/r1"):
            pass
    assert seen == [{"room": "r1"}]


def test_nested_routers_and_path_params_in_prefixes() -> None:
    seen: list[Any] = []
    hub = make_hub("/hub/{room}", seen)
    inner = APIRouter()
    inner.routes.append(hub)
    inner.routes.append(Mount("/ll", routes=[make_lowlevel("/echo/{room}")]))
    middle = APIRouter()
    middle.include_router(inner, prefix="/v1")
    app = FastAPI(lifespan=hub.lifespan)
    app.include_router(middle, prefix="/org/{org}")
    with TestClient(app) as client:
        with client.websocket_connect("/org/acme/v1/hub/r2") as ws:
            probe(ws)
        with client.websocket_connect("/org/acme/v1/ll/echo/r3") as ws:
            assert ws.receive_json() == {"org": "acme", "room": "r3"}
    assert seen == [{"org": "acme", "room": "r2"}]


def test_hub_in_app_router_routes_and_in_a_mount() -> None:
    seen: list[Any] = []
    direct = make_hub("/direct", seen)
    mounted = make_hub("/ws/{room}", seen)
    app = FastAPI()
    app.router.routes.append(direct)
    app.router.routes.append(Mount("/m/{org}", routes=[mounted, make_lowlevel("/ll")]))
    with TestClient(app) as client:
        with client.websocket_connect("/direct") as ws:
            probe(ws)
        with client.websocket_connect("/m/o1/ws/r1") as ws:
            probe(ws)
        with client.websocket_connect("/m/o1/ll") as ws:
            assert ws.receive_json() == {"org": "o1"}
    assert seen == [{}, {"org": "o1", "room": "r1"}]


def test_add_websocket_route_with_the_hub_endpoint() -> None:
    seen: list[Any] = []
    hub = make_hub("", seen)
    router = APIRouter()
    router.add_websocket_route("/chat/{room}", hub.endpoint)
    app = FastAPI()
    app.include_router(router, prefix="/api")
    with TestClient(app) as client:
        with client.websocket_connect("/api/chat/x") as ws:
            probe(ws)
    assert seen == [{"room": "x"}]


def test_copied_hub_keeps_its_middlewares_and_name() -> None:
    calls: list[str] = []

    class Tag:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            calls.append(scope["path"])
            await self.app(scope, receive, send)

    hub = SocketHub("/ws/{room}", name="chat", middlewares=[Middleware(Tag)])
    router = APIRouter()
    router.routes.append(hub)
    app = FastAPI()
    app.include_router(router, prefix="/api")
    assert app.url_path_for("chat", room="r") == "/api/ws/r"
    with TestClient(app) as client:
        with client.websocket_connect("/api/ws/r") as ws:
            ws.send_text(PING)
            assert ws.receive_text() == TOPIC_NOT_FOUND
    assert calls == ["/api/ws/r"]


def test_hubs_stay_hashable_and_distinct() -> None:
    a, b = SocketHub("/ws"), SocketHub("/ws")
    assert a != b
    assert len({a, b}) == 2
