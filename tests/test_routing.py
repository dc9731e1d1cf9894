"""The route base: sockethub routes are Starlette routes.

Where they go (Starlette, Mount, FastAPI), path parameters, ``url_path_for``, names,
composition with ``sub`` / ``merge``, and per-route ASGI middlewares.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, NoMatchFound, Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, SocketHub, WebSocketRoute


async def echo(sock: ISocket) -> None:
    """Send back the URL path and the path params, then close."""
    await sock.accept()
    await sock.send_json({"path": sock.url.path, "params": sock.path_params})
    await sock.close()


def echo_route(path: str, *, name: str | None = None, **kwargs: Any) -> WebSocketRoute:
    """A route at ``path`` served by :func:`echo`."""
    route = WebSocketRoute(path, name=name, **kwargs)
    route.endpoint(echo)
    return route


# -- where a route goes ------------------------------------------------------------------


def test_starlette_routes_list() -> None:
    app = Starlette(routes=[echo_route("/ws")])
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_json() == {"path": "/ws", "params": {}}


def test_mount_prefixes_the_path_and_passes_mount_params() -> None:
    route = echo_route("/ws/{room}")
    app = Starlette(routes=[Mount("/api/{tenant}", routes=[route])])
    with TestClient(app) as client, client.websocket_connect("/api/acme/ws/lobby") as ws:
        assert ws.receive_json() == {
            "path": "/api/acme/ws/lobby",
            "params": {"tenant": "acme", "room": "lobby"},
        }
    with TestClient(app) as client:
        # not matched without the mount prefix: Starlette's router closes the socket
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/lobby"):
            pass


def test_fastapi_router_routes_append() -> None:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    app.router.routes.append(echo_route("/ws/{n:int}"))
    with TestClient(app) as client:
        with client.websocket_connect("/ws/7") as ws:
            assert ws.receive_json() == {"path": "/ws/7", "params": {"n": 7}}
        assert client.get("/ping").json() == {"pong": "yes"}
        # FastAPI's OpenAPI generation walks the routes and must skip ours
        assert client.get("/openapi.json").status_code == 200
        assert app.url_path_for("echo", n=3) == "/ws/3"


def test_path_params_are_converted_by_starlette_convertors() -> None:
    app = Starlette(routes=[echo_route("/ws/{room}/{n:int}/{x:float}")])
    with TestClient(app) as client, client.websocket_connect("/ws/blue/42/2.5") as ws:
        assert ws.receive_json()["params"] == {"room": "blue", "n": 42, "x": 2.5}
    with TestClient(app) as client:
        # "abc" does not match {n:int}: no route, the router closes the socket
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/blue/abc/2.5"):
            pass


def test_route_paths_are_normalised_and_a_hub_path_must_start_with_a_slash() -> None:
    assert WebSocketRoute("ws").path == "/ws"  # as 0.1 did
    with pytest.raises(ValueError, match="must not end with '/'"):
        WebSocketRoute("/ws/")
    with pytest.raises(ValueError, match="must start with '/'"):
        SocketHub("ws")


def test_http_requests_to_the_path_are_not_matched() -> None:
    app = Starlette(routes=[echo_route("/ws")])
    with TestClient(app) as client:
        assert client.get("/ws").status_code == 404


def test_http_route_at_the_same_path_still_serves_http() -> None:
    async def page(request: Any) -> PlainTextResponse:
        return PlainTextResponse("page")

    app = Starlette(routes=[echo_route("/ws"), Route("/ws", page)])
    with TestClient(app) as client:
        assert client.get("/ws").text == "page"
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_json()["path"] == "/ws"


# -- names and url_path_for -----------------------------------------------------------------


def test_default_name_is_the_endpoint_function_name() -> None:
    route = echo_route("/ws/{room}")
    assert route.name == "echo"


def test_default_name_without_endpoint_is_the_path_format() -> None:
    assert WebSocketRoute("/ws/{n:int}").name == "/ws/{n}"
    assert SocketHub("/hub/{room}").name == "/hub/{room}"


def test_explicit_name_wins_and_can_be_set() -> None:
    route = echo_route("/ws", name="chat")
    assert route.name == "chat"
    route.name = "other"
    assert route.name == "other"
    assert SocketHub("/hub", name="hub").name == "hub"


def test_url_path_for_on_app_and_route() -> None:
    route = echo_route("/ws/{room}/{n:int}", name="room")
    app = Starlette(routes=[route])
    url = app.url_path_for("room", room="blue", n=5)
    assert url == "/ws/blue/5"
    assert url.protocol == "websocket"
    assert url.make_absolute_url("http://example.com") == "ws://example.com/ws/blue/5"
    assert route.url_path_for("room", room="blue", n=5) == "/ws/blue/5"


def test_url_path_for_no_match() -> None:
    route = echo_route("/ws/{room}", name="room")
    with pytest.raises(NoMatchFound):
        route.url_path_for("nope", room="x")
    with pytest.raises(NoMatchFound):
        route.url_path_for("room")  # a missing param
    with pytest.raises(NoMatchFound):
        route.url_path_for("room", room="x", extra="y")  # an unknown param
    app = Starlette(routes=[route])
    with pytest.raises(NoMatchFound):
        app.url_path_for("nope")


def test_url_path_for_through_mounts() -> None:
    route = echo_route("/ws/{room}", name="room")
    app = Starlette(
        routes=[
            Mount("/plain", routes=[route]),
            Mount("/named", routes=[echo_route("/ws", name="ws")], name="api"),
        ]
    )
    assert app.url_path_for("room", room="r1") == "/plain/ws/r1"
    assert app.url_path_for("api:ws") == "/named/ws"


def test_url_path_for_children_made_with_sub() -> None:
    root = WebSocketRoute("/ws/{room}")
    child = root.sub("/chat/{n:int}")

    @child.endpoint
    async def chat(sock: ISocket) -> None:
        await sock.close()

    grandchild = child.sub("/x")
    grandchild.endpoint(chat)
    grandchild.name = "deep"
    app = Starlette(routes=[root])
    assert root.url_path_for("chat", room="a", n=1) == "/ws/a/chat/1"
    assert app.url_path_for("chat", room="a", n=1) == "/ws/a/chat/1"
    assert app.url_path_for("deep", room="a", n=2) == "/ws/a/chat/2/x"
    # the container itself has no endpoint, so it has no URL
    with pytest.raises(NoMatchFound):
        app.url_path_for(root.name, room="a")
    with pytest.raises(NoMatchFound):
        app.url_path_for("chat", room="a")


# -- composition -------------------------------------------------------------------------


def test_sub_creates_or_returns_the_same_child() -> None:
    root = WebSocketRoute("/ws")
    a = root.sub("/a")
    assert root.sub("/a") is a
    assert root.sub("/b") is not a
    assert a.path == "/ws/a"
    assert root.children == [a, root.sub("/b")]


def test_container_route_serves_its_children() -> None:
    root = WebSocketRoute("/ws")
    echo_child = root.sub("/echo/{room}")

    @echo_child.endpoint
    async def child(sock: ISocket, room: str) -> None:
        await sock.accept()
        await sock.send_text(f"child {room}")
        await sock.close()

    app = Starlette(routes=[root])
    with TestClient(app) as client:
        with client.websocket_connect("/ws/echo/r") as ws:
            assert ws.receive_text() == "child r"
        # the container's own path is not served by it: the router refuses as for any
        # unknown path (the container is not "asked to serve")
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws"):
            pass


def test_container_path_falls_through_to_a_later_route() -> None:
    root = WebSocketRoute("/ws")
    root.sub("/a").endpoint(echo)
    app = Starlette(routes=[root, echo_route("/ws")])
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_json()["path"] == "/ws"
        with client.websocket_connect("/ws/a") as ws:
            assert ws.receive_json()["path"] == "/ws/a"


def test_route_with_endpoint_and_children_serves_both() -> None:
    root = echo_route("/ws")
    root.sub("/more").endpoint(echo)
    app = Starlette(routes=[root])
    with TestClient(app) as client:
        for path in ("/ws", "/ws/more"):
            with client.websocket_connect(path) as ws:
                assert ws.receive_json()["path"] == path


def test_merge_copies_routes_and_children_under_the_path() -> None:
    other = echo_route("/v1/echo/{room}")
    other_child = other.sub("/deep")
    other_child.endpoint(echo)
    other_child.name = "deep"
    plain = echo_route("/v1/plain", name="plain")

    root = WebSocketRoute("/ws")
    # parent_prefix is removed from the merged routes' paths (the 0.1 contract)
    root.merge(other, plain, parent_prefix="/v1")
    app = Starlette(routes=[root])
    with TestClient(app) as client:
        for path in ("/ws/echo/r", "/ws/echo/r/deep", "/ws/plain"):
            with client.websocket_connect(path) as ws:
                assert ws.receive_json()["path"] == path
    assert app.url_path_for("echo", room="r") == "/ws/echo/r"
    assert app.url_path_for("deep", room="r") == "/ws/echo/r/deep"
    assert app.url_path_for("plain") == "/ws/plain"
    # copies: the originals keep their own paths
    assert other.path == "/v1/echo/{room}"
    assert other_child.path == "/v1/echo/{room}/deep"


def test_merge_without_prefix() -> None:
    root = WebSocketRoute("/ws")
    root.merge(echo_route("/e"))
    app = Starlette(routes=[root])
    with TestClient(app) as client, client.websocket_connect("/ws/e") as ws:
        assert ws.receive_json()["path"] == "/ws/e"


# -- SocketHub mounts the same way ---------------------------------------------------------


def _hub_app(wrap: str) -> tuple[Any, str]:
    hub = SocketHub("/hub/{room}")
    hub.channel("lobby")
    if wrap == "starlette":
        return Starlette(routes=[hub], lifespan=hub.lifespan), "/hub/r1"
    if wrap == "mount":
        return Starlette(routes=[Mount("/api", routes=[hub])], lifespan=hub.lifespan), "/api/hub/r1"
    app = FastAPI(lifespan=hub.lifespan)
    app.router.routes.append(hub)
    return app, "/hub/r1"


@pytest.mark.parametrize("wrap", ["starlette", "mount", "fastapi"])
def test_sockethub_mounts_like_any_route(wrap: str) -> None:
    app, path = _hub_app(wrap)
    with TestClient(app) as client:
        with client.websocket_connect(path) as ws:
            ws.send_json({"topic": "nowhere", "event": "x", "payload": None})
            assert ws.receive_json() == {"code": 4404, "reason": "Topic not found"}
        assert client.get(path).status_code == 404


# -- per-route middlewares -------------------------------------------------------------------


class Recorder:
    """A Starlette-style middleware class: records ``tag`` on each websocket call."""

    def __init__(self, app: ASGIApp, tag: str, log: list[str]) -> None:
        self.app = app
        self.tag = tag
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.log.append(self.tag)
        await self.app(scope, receive, send)


def recorder_factory(tag: str, log: list[str], built: list[str] | None = None) -> Any:
    """A plain ``app -> app`` factory recording ``tag``."""

    def factory(app: ASGIApp) -> ASGIApp:
        if built is not None:
            built.append(tag)

        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            log.append(tag)
            await app(scope, receive, send)

        return wrapped

    return factory


def logging_route(path: str, log: list[str], **kwargs: Any) -> WebSocketRoute:
    route = WebSocketRoute(path, **kwargs)

    @route.endpoint
    async def endpoint(sock: ISocket) -> None:
        log.append("endpoint")
        await sock.accept()
        await sock.send_json(sock.scope.get("seen", []))
        await sock.close()

    return route


def test_middlewares_first_is_outermost() -> None:
    log: list[str] = []
    built: list[str] = []
    route = logging_route(
        "/ws",
        log,
        middlewares=[
            Middleware(Recorder, tag="a", log=log),
            recorder_factory("b", log, built),
            Middleware(Recorder, "c", log),  # positional args work too
        ],
    )
    app = Starlette(routes=[route])
    with TestClient(app) as client:
        for _ in range(2):
            with client.websocket_connect("/ws") as ws:
                ws.receive_json()
    assert log == ["a", "b", "c", "endpoint"] * 2
    assert built == ["b"]  # the stack is built once, not per connection


def test_middlewares_wrap_only_their_route() -> None:
    log: list[str] = []
    wrapped = logging_route("/wrapped", log, middlewares=[recorder_factory("mw", log)])
    plain = logging_route("/plain", log)
    app = Starlette(routes=[wrapped, plain])
    with TestClient(app) as client:
        with client.websocket_connect("/plain") as ws:
            ws.receive_json()
        assert log == ["endpoint"]
        with client.websocket_connect("/wrapped") as ws:
            ws.receive_json()
        assert log == ["endpoint", "mw", "endpoint"]
        assert client.get("/wrapped").status_code == 404
    assert log == ["endpoint", "mw", "endpoint"]


def test_middleware_sees_path_params_and_can_change_the_scope() -> None:
    log: list[str] = []

    def tagger(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "seen": [scope["path_params"]["room"]]}, receive, send)

        return wrapped

    app = Starlette(routes=[logging_route("/ws/{room}", log, middlewares=[tagger])])
    with TestClient(app) as client, client.websocket_connect("/ws/blue") as ws:
        assert ws.receive_json() == ["blue"]


def test_middleware_can_refuse_before_the_endpoint() -> None:
    log: list[str] = []

    def deny(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "websocket.close", "code": 4401, "reason": "no"})

        return wrapped

    app = Starlette(routes=[logging_route("/ws", log, middlewares=[deny])])
    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
            pass
    assert info.value.code == 4401
    assert log == []


def test_sockethub_middlewares() -> None:
    log: list[str] = []
    hub = SocketHub("/hub", middlewares=[Middleware(Recorder, tag="h1", log=log)])
    hub.channel("lobby")
    app = Starlette(routes=[hub], lifespan=hub.lifespan)
    with TestClient(app) as client, client.websocket_connect("/hub") as ws:
        ws.send_json({"topic": "nowhere", "event": "x"})
        assert ws.receive_json()["code"] == 4404
    assert log == ["h1"]


def test_reset_rebuilds_the_stack_after_changing_middlewares() -> None:
    log: list[str] = []
    route = logging_route("/ws", log)
    app = Starlette(routes=[route])
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            ws.receive_json()
        route.middlewares.append(recorder_factory("late", log))
        route.reset()
        with client.websocket_connect("/ws") as ws:
            ws.receive_json()
    assert log == ["endpoint", "late", "endpoint"]


def test_children_inside_a_mount() -> None:
    root = WebSocketRoute("/ws/{room}")
    root.sub("/a").endpoint(echo)
    other = echo_route("/m/b/{n:int}", name="b")
    root.merge(other, parent_prefix="/m")
    app = Starlette(routes=[Mount("/api", routes=[root], name="api")])
    with TestClient(app) as client:
        with client.websocket_connect("/api/ws/r/a") as ws:
            assert ws.receive_json() == {"path": "/api/ws/r/a", "params": {"room": "r"}}
        with client.websocket_connect("/api/ws/r/b/4") as ws:
            assert ws.receive_json() == {
                "path": "/api/ws/r/b/4",
                "params": {"room": "r", "n": 4},
            }
    assert app.url_path_for("api:echo", room="r") == "/api/ws/r/a"
    assert app.url_path_for("api:b", room="r", n=4) == "/api/ws/r/b/4"


def test_parent_middlewares_wrap_children_outside_their_own() -> None:
    """Like Starlette's Mount: a parent's middlewares run for its children too, outermost."""
    log: list[str] = []
    root = WebSocketRoute("/root", middlewares=[recorder_factory("root", log)])
    child = root.sub("/child")
    child.middlewares.append(recorder_factory("child", log))
    grandchild = child.sub("/leaf")
    grandchild.middlewares.append(recorder_factory("leaf", log))

    for route in (child, grandchild):

        @route.endpoint
        async def endpoint(sock: ISocket) -> None:
            log.append("endpoint")
            await sock.accept()
            await sock.close()

    app = Starlette(routes=[root])
    with TestClient(app) as client:
        with client.websocket_connect("/root/child"):
            pass
        assert log == ["root", "child", "endpoint"]
        log.clear()
        with client.websocket_connect("/root/child/leaf"):
            pass
        assert log == ["root", "child", "leaf", "endpoint"]
