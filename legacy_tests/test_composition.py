"""0.1 composition: ``sub``, ``merge`` (managed routes keep hooks and channels) and the
old alias ``include_subroutes``."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, WebSocketRoute
from sockethub.channel import TOPIC_NOT_FOUND


def managed_chat(path: str, log: list[Any]) -> WebSocketRoute:
    route = WebSocketRoute(path)
    room = route.channel("room:{id}")

    @route.handler
    async def handle(user: str) -> None:
        return None

    @route.on_connect
    async def on_connect(sock: ISocket, user: str) -> None:
        log.append(("connect", sock.url.path, user))

    @route.on_disconnect
    async def on_disconnect(sock: ISocket, user: str) -> None:
        log.append(("disconnect", user))

    @room.on_receive("chat")
    async def chat(payload: Any, sock: ISocket) -> None:
        await sock.reply({"echo": payload, "user": sock.query_params["user"]})

    return route


def chat_session(client: TestClient, url: str) -> None:
    with client.websocket_connect(url) as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "chat", "payload": "hi"})
        assert ws.receive_json() == {
            "topic": "room:1",
            "event": "reply",
            "payload": {"echo": "hi", "user": "u"},
        }


def test_sub_makes_or_returns_a_child() -> None:
    root = WebSocketRoute("/ws")
    child = root.sub("/chat")
    assert isinstance(child, WebSocketRoute)
    assert child.path == "/ws/chat"
    assert root.sub("/chat") is child


def test_managed_sub_route_next_to_a_low_level_parent() -> None:
    log: list[Any] = []
    root = WebSocketRoute("/ws")

    @root.endpoint
    async def echo(sock: ISocket) -> None:
        await sock.accept()
        await sock.send_text(await sock.receive_text())
        await sock.close()

    child = root.sub("/chat")
    room = child.channel("room:{id}")

    @child.on_connect
    async def on_connect(sock: ISocket) -> None:
        log.append("connect")

    @room.on_receive("chat")
    async def chat(payload: Any, sock: ISocket) -> None:
        await sock.reply(payload)

    client = TestClient(Starlette(routes=[root]))
    with client.websocket_connect("/ws") as ws:
        ws.send_text("plain")
        assert ws.receive_text() == "plain"
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "chat", "payload": 5})
        assert ws.receive_json() == {"topic": "room:1", "event": "reply", "payload": 5}
    assert log == ["connect"]


@pytest.mark.parametrize(
    ("prefix", "url"), [(None, "/api/chat?user=u"), ("/v1", "/api/v1/chat?user=u")]
)
def test_merge_copies_managed_routes_with_hooks_and_channels(prefix: str | None, url: str) -> None:
    log: list[Any] = []
    api = WebSocketRoute("/api")
    # parent_prefix is removed from the merged route's path (legacy-api.md, "Paths and
    # composition, exactly"): "/v1/v1/chat" merged with "/v1" serves "/api/v1/chat".
    api.merge(managed_chat((prefix or "") + (prefix or "") + "/chat", log), parent_prefix=prefix)
    chat_session(TestClient(Starlette(routes=[api])), url)
    assert log == [("connect", url.split("?")[0], "u"), ("disconnect", "u")]


def test_merge_copies_children_too() -> None:
    log: list[Any] = []
    chat = WebSocketRoute("/chat")
    admin = chat.sub("/admin")
    admin_room = admin.channel("room:{id}")

    @admin_room.on_receive("chat")
    async def admin_chat(payload: Any, sock: ISocket) -> None:
        await sock.reply({"echo": payload, "user": "u"})

    api = WebSocketRoute("/api")
    api.merge(chat)
    chat_session(TestClient(Starlette(routes=[api])), "/api/chat/admin?user=u")
    assert log == []


def test_merged_copy_keeps_the_handler_params() -> None:
    log: list[Any] = []
    api = WebSocketRoute("/api")
    api.merge(managed_chat("/chat", log))
    client = TestClient(Starlette(routes=[api]))
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/api/chat"):
            pass
    assert "user" in refused.value.text  # type: ignore[attr-defined]
    assert log == []


def test_include_subroutes_is_merge() -> None:
    log: list[Any] = []
    api = WebSocketRoute("/api")
    # as merge: "/old" is removed from "/old/old/chat", which then serves "/api/old/chat"
    api.include_subroutes(managed_chat("/old/old/chat", log), parent_prefix="/old")
    chat_session(TestClient(Starlette(routes=[api])), "/api/old/chat?user=u")
    assert log == [("connect", "/api/old/chat", "u"), ("disconnect", "u")]


def test_merged_route_and_original_both_serve() -> None:
    log: list[Any] = []
    chat = managed_chat("/chat", log)
    api = WebSocketRoute("/api")
    api.merge(chat)
    client = TestClient(Starlette(routes=[chat, api]))
    chat_session(client, "/chat?user=u")
    chat_session(client, "/api/chat?user=u")
    with client.websocket_connect("/api/chat?user=u") as ws:
        ws.send_json({"topic": "elsewhere", "event": "join"})
        assert ws.receive_json() == TOPIC_NOT_FOUND
    assert [entry[0] for entry in log] == ["connect", "disconnect"] * 3


# -- middlewares ---------------------------------------------------------------------------------


class TagMiddleware:
    """An ASGI middleware: refuses sockets without ``x-key``, tags the others."""

    def __init__(self, app: ASGIApp, tag: str = "tagged") -> None:
        self.app = app
        self.tag = tag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (b"x-key", b"k") not in scope["headers"]:
            await send({"type": "websocket.close", "code": 4401, "reason": "no key"})
            return
        scope.setdefault("state", {})["tag"] = self.tag
        await self.app(scope, receive, send)


@pytest.mark.parametrize(
    "middleware",
    [Middleware(TagMiddleware, tag="cls"), lambda app: TagMiddleware(app, tag="factory")],
    ids=["Middleware", "factory"],
)
def test_managed_route_middlewares(middleware: Any) -> None:
    route = WebSocketRoute("/ws", middlewares=[middleware])
    room = route.channel("room:{id}")
    tags: list[str] = []

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        tags.append(sock.state.tag)

    @room.on_receive("tag")
    async def tag(payload: Any, sock: ISocket) -> None:
        await sock.reply(sock.state.tag)

    api = WebSocketRoute("/api")
    api.merge(route)
    client = TestClient(Starlette(routes=[route, api]))
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws"):
            pass
    assert refused.value.code == 4401
    for url in ("/ws", "/api/ws"):
        with client.websocket_connect(url, headers={"x-key": "k"}) as ws:
            ws.send_json({"topic": "room:1", "event": "join"})
            ws.send_json({"topic": "room:1", "event": "tag"})
            assert ws.receive_json()["payload"] in ("cls", "factory")
    assert len(tags) == 2


def test_low_level_route_middlewares() -> None:
    route = WebSocketRoute("/ws", middlewares=[Middleware(TagMiddleware)])

    @route.endpoint
    async def endpoint(sock: ISocket) -> None:
        await sock.accept()
        await sock.send_text(sock.state.tag)
        await sock.close()

    client = TestClient(Starlette(routes=[route]))
    with client.websocket_connect("/ws", headers={"x-key": "k"}) as ws:
        assert ws.receive_text() == "tagged"


@pytest.mark.parametrize(
    ("path", "prefix", "url"),
    [
        ("/chat", None, "/api/chat?user=u"),
        # parent_prefix is removed from the merged route's path (legacy-api.md)
        ("/v1/chat", "/v1", "/api/chat?user=u"),
        ("/chat", "/v1", "/api/chat?user=u"),
    ],
)
def test_merge_removes_the_prefix_or_leaves_a_path_without_it(
    path: str, prefix: str | None, url: str
) -> None:
    log: list[Any] = []
    api = WebSocketRoute("/api")
    api.merge(managed_chat(path, log), parent_prefix=prefix)
    chat_session(TestClient(Starlette(routes=[api])), url)
    assert log == [("connect", url.split("?")[0], "u"), ("disconnect", "u")]


def test_include_subroutes_removes_a_single_prefix_as_merge_does() -> None:
    log: list[Any] = []
    api = WebSocketRoute("/api")
    api.include_subroutes(managed_chat("/old/chat", log), parent_prefix="/old")
    chat_session(TestClient(Starlette(routes=[api])), "/api/chat?user=u")
    assert log == [("connect", "/api/chat", "u"), ("disconnect", "u")]
