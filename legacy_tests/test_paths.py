"""0.1 paths and composition, exactly: normalisation, joining, ``sub`` and ``merge``.

One test per rule of the contract, each checked on the wire where a path is served: a
managed route answers a join on the path it should serve, and nothing answers elsewhere.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, WebSocketRoute


def managed(path: str, tag: str = "ok") -> WebSocketRoute:
    """A managed route whose ``ping`` event replies ``tag``."""
    route = WebSocketRoute(path)
    room = route.channel("room:{id}")

    @room.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.reply(tag)

    route.handler(noop)
    return route


async def noop() -> None:
    return None


def answer(client: TestClient, url: str) -> Any:
    """What a managed route at ``url`` replies to a ping; None if nothing serves it."""
    try:
        with client.websocket_connect(url) as ws:
            ws.send_json({"topic": "room:1", "event": "join"})
            ws.send_json({"topic": "room:1", "event": "ping"})
            return ws.receive_json()["payload"]
    except WebSocketDisconnect:
        return None


def served(*routes: WebSocketRoute) -> TestClient:
    return TestClient(Starlette(routes=list(routes)))


# -- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "path"),
    [("ws", "/ws"), ("/ws", "/ws"), (" /ws ", "/ws"), ("w s/chat", "/ws/chat"), ("/", "/")],
)
def test_paths_are_normalised(given: str, path: str) -> None:
    assert WebSocketRoute(given).path == path
    assert WebSocketRoute("/root").sub(given).path == ("/root" + path if path != "/" else "/root")


def test_normalised_path_is_the_one_served() -> None:
    client = served(managed("ws"))
    assert answer(client, "/ws") == "ok"


@pytest.mark.parametrize("given", ["/ws/", "ws/", "/ws/chat/"])
def test_a_trailing_slash_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="must not end with '/'"):
        WebSocketRoute(given)
    with pytest.raises(ValueError, match="must not end with '/'"):
        WebSocketRoute("/root").sub(given)


# -- joining a parent and a child ------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "child", "path"),
    [("/ws", "/v1", "/ws/v1"), ("/", "/v1", "/v1"), ("/ws", "v1", "/ws/v1"), ("", "/v1", "/v1")],
)
def test_sub_joins_the_parent_and_the_child(parent: str, child: str, path: str) -> None:
    root = WebSocketRoute(parent)
    sub = root.sub(child)
    assert sub.path == path
    sub.channel("room:{id}").on_receive("ping")(pong)
    sub.handler(noop)
    assert answer(served(root), path) == "ok"


async def pong(payload: Any, sock: ISocket) -> None:
    await sock.reply("ok")


def test_sub_v1_on_ws_serves_ws_slash_v1_not_wsv1() -> None:
    root = WebSocketRoute("/ws")
    child = root.sub("v1")
    child.channel("room:{id}").on_receive("ping")(pong)
    child.handler(noop)
    client = served(root)
    assert answer(client, "/ws/v1") == "ok"
    assert answer(client, "/wsv1") is None


# -- sub returns the existing child; the child runs the parent's middlewares ---------------------


def test_sub_returns_the_existing_child_for_the_same_joined_path() -> None:
    root = WebSocketRoute("/ws")
    child = root.sub("/v1")
    assert root.sub("v1") is child
    assert root.sub(" /v1") is child
    assert root.children == [child]


class Count:
    """An ASGI middleware counting the websocket connections it sees."""

    seen: list[str]

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)


def test_a_child_made_by_sub_gets_the_parents_middlewares_once() -> None:
    seen: list[str] = []
    root = WebSocketRoute("/ws", middlewares=[Middleware(Count, seen=seen)])
    child = root.sub("/v1")
    child.channel("room:{id}").on_receive("ping")(pong)
    child.handler(noop)
    assert answer(served(root), "/ws/v1") == "ok"
    assert seen == ["/ws/v1"]


# -- merge ----------------------------------------------------------------------------------


def test_merge_with_parent_prefix_removes_the_prefix_from_the_merged_path() -> None:
    root = WebSocketRoute("/ws")
    root.merge(managed("/ws/v1"), parent_prefix="/ws")
    client = served(root)
    assert answer(client, "/ws/v1") == "ok"
    assert answer(client, "/ws/ws/v1") is None
    assert answer(client, "/ws/ws/ws/v1") is None


def test_merge_without_parent_prefix_joins_the_whole_path() -> None:
    root = WebSocketRoute("/ws")
    root.merge(managed("/ws/v1"))
    client = served(root)
    assert answer(client, "/ws/ws/v1") == "ok"
    assert answer(client, "/ws/v1") is None


def test_a_parent_prefix_the_path_does_not_start_with_removes_nothing() -> None:
    root = WebSocketRoute("/api")
    root.merge(managed("/chat"), parent_prefix="/v1")
    client = served(root)
    assert answer(client, "/api/chat") == "ok"
    assert answer(client, "/api/v1/chat") is None


def test_merged_children_are_merged_with_the_merged_routes_path_as_their_prefix() -> None:
    chat = managed("/chat", tag="chat")
    admin = chat.sub("/admin")
    admin.channel("room:{id}").on_receive("ping")(pong)
    admin.handler(noop)
    root = WebSocketRoute("/api")
    root.merge(chat, parent_prefix="/chat")
    client = served(root)
    # chat: "/api" + "/chat".removeprefix("/chat"); admin: that + "/chat/admin" minus "/chat"
    assert answer(client, "/api") == "chat"
    assert answer(client, "/api/admin") == "ok"
    assert answer(client, "/api/chat/admin") is None


def test_merge_is_not_idempotent() -> None:
    root = WebSocketRoute("/ws")
    route = managed("/v1")
    root.merge(route)
    root.merge(route)
    assert [child.path for child in root.children] == ["/ws/v1", "/ws/v1"]
    assert answer(served(root), "/ws/v1") == "ok"
