"""SocketHub's public API: a Starlette route, hooks and callback signatures, no handler."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from sockethub import Channel, ISocket, SocketHub, WebSocketRoute
from sockethub.routing import RouteBase, RouteEndpoint

from .helpers import TOPIC_NOT_FOUND, app_for, frame, probe, send


def ping_hub(path: str) -> SocketHub:
    hub = SocketHub(path)
    room = hub.channel("room:{id}")

    @room.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.reply({"pong": payload, "path": sock.path_params})

    return hub


def ping_over(client: TestClient, url: str) -> Any:
    with client.websocket_connect(url) as ws:
        send(ws, "room:1", "join")
        send(ws, "room:1", "ping", 1)
        return ws.receive_json()["payload"]


# -- a route like any other ---------------------------------------------------------------


def test_hub_shares_the_route_base_of_websocket_route() -> None:
    assert issubclass(SocketHub, RouteBase)
    assert issubclass(WebSocketRoute, RouteBase)


def test_hub_in_starlette_routes() -> None:
    hub = ping_hub("/ws/{room}")
    with TestClient(Starlette(routes=[hub], lifespan=hub.lifespan)) as client:
        assert ping_over(client, "/ws/blue") == {"pong": 1, "path": {"room": "blue"}}


def test_hub_in_a_mount() -> None:
    hub = ping_hub("/ws/{n:int}")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with hub.lifespan(app):
            yield

    app = Starlette(routes=[Mount("/api", routes=[hub])], lifespan=lifespan)
    with TestClient(app) as client:
        assert ping_over(client, "/api/ws/5") == {"pong": 1, "path": {"n": 5}}


def test_hub_in_fastapi() -> None:
    hub = ping_hub("/ws")
    app = FastAPI(lifespan=hub.lifespan)
    app.router.routes.append(hub)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        assert client.get("/health").json() == {"ok": "yes"}
        assert ping_over(client, "/ws") == {"pong": 1, "path": {}}


def test_hub_url_path_for() -> None:
    hub = SocketHub("/ws/{room}", name="chat")
    app = Starlette(routes=[hub])
    assert app.url_path_for("chat", room="x") == "/ws/x"


# -- registration -------------------------------------------------------------------------


def test_channel_returns_a_channel_and_decorators_return_the_function() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")
    assert isinstance(room, Channel)
    assert room.topic_pattern == "room:{id}"
    assert hub.channels == [room]

    async def on_join(params: dict[str, str], sock: ISocket) -> None: ...
    async def on_exit(sock: ISocket) -> None: ...
    async def on_say(payload: Any, sock: ISocket) -> None: ...
    async def hook(sock: ISocket) -> None: ...

    assert room.on_join(on_join) is on_join
    assert room.on_exit(on_exit) is on_exit
    assert room.on_receive("say")(on_say) is on_say
    assert hub.on_connect(hook) is hook
    assert hub.on_disconnect(hook) is hook


def sync_join(params: dict[str, str], sock: ISocket) -> None: ...
def sync_sock(sock: ISocket) -> None: ...
def sync_receive(payload: Any, sock: ISocket) -> None: ...


@pytest.mark.parametrize(
    ("register", "func", "what"),
    [
        (lambda hub, room: room.on_join, sync_join, "on_join callback"),
        (lambda hub, room: room.on_exit, sync_sock, "on_exit callback"),
        (lambda hub, room: room.on_receive("say"), sync_receive, "on_receive('say') callback"),
        (lambda hub, room: hub.on_connect, sync_sock, "on_connect hook"),
        (lambda hub, room: hub.on_disconnect, sync_sock, "on_disconnect hook"),
        (lambda hub, room: hub.on_connect, lambda sock: None, "on_connect hook"),
        (lambda hub, room: room.on_join, partial(sync_join, {}), "on_join callback"),
    ],
)
def test_sync_callbacks_are_refused_at_registration(register: Any, func: Any, what: str) -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")
    with pytest.raises(TypeError, match=re.escape(f"{what} must be an async function")):
        register(hub, room)(func)


def test_async_partials_and_async_callable_objects_are_accepted() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")

    async def join(tag: str, params: dict[str, str], sock: ISocket) -> None: ...

    class Exit:
        async def __call__(self, sock: ISocket) -> None: ...

    room.on_join(partial(join, "x"))
    room.on_exit(Exit())


@pytest.mark.parametrize("event", ["", None, 3])
def test_on_receive_needs_an_event_name(event: Any) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        SocketHub("/ws").channel("room:{id}").on_receive(event)


# -- callback signatures --------------------------------------------------------------------


def test_callbacks_receive_the_documented_arguments() -> None:
    hub = SocketHub("/ws/{org}")
    room = hub.channel("room:{id}")
    calls: list[tuple[Any, ...]] = []

    @hub.on_connect
    async def on_connect(sock: ISocket) -> None:
        assert isinstance(sock, ISocket)
        calls.append(("connect", dict(sock.path_params), sock.query_params.get("t")))
        sock.assigns["user"] = "ann"

    @room.on_join
    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        assert isinstance(sock, ISocket)
        calls.append(("join", params, sock.assigns["user"]))

    @room.on_receive("say")
    async def say(payload: Any, sock: ISocket) -> None:
        calls.append(("say", payload, sock.assigns["user"]))

    @room.on_exit
    async def on_exit(sock: ISocket) -> None:
        calls.append(("exit", sock.topic, sock.assigns["user"]))

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        calls.append(("disconnect", dict(sock.path_params), sock.assigns["user"]))

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws/acme?t=tok") as ws:
            send(ws, "room:9", "join")
            send(ws, "room:9", "say", {"text": "hi", "n": [1, 2]})
            probe(ws)
        assert calls == [
            ("connect", {"org": "acme"}, "tok"),
            ("join", {"id": "9"}, "ann"),
            ("say", {"text": "hi", "n": [1, 2]}, "ann"),
            ("exit", "room:9", "ann"),
            ("disconnect", {"org": "acme"}, "ann"),
        ]


def test_path_params_are_converted_for_hooks() -> None:
    hub = SocketHub("/ws/{n:int}/{name}")
    seen: list[dict[str, Any]] = []

    @hub.on_connect
    async def on_connect(sock: ISocket) -> None:
        seen.append(dict(sock.path_params))

    @hub.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        seen.append(dict(sock.path_params))

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws/12/bob"):
            pass
    assert seen == [{"n": 12, "name": "bob"}, {"n": 12, "name": "bob"}]


def test_a_returned_value_is_ignored_without_ref() -> None:
    hub = SocketHub("/ws")
    room = hub.channel("room:{id}")

    @room.on_receive("get")
    async def get(payload: Any, sock: ISocket) -> dict[str, int]:
        return {"value": 1}

    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        send(ws, "room:1", "join")
        send(ws, "room:1", "get")
        probe(ws)


# -- no handler anywhere -------------------------------------------------------------------


def test_no_handler_is_needed_or_offered() -> None:
    hub = SocketHub("/ws")
    assert not hasattr(hub, "handler")
    # ``endpoint`` is Starlette's name for the ASGI app a route calls (FastAPI copies a hub
    # by it), not a way to register a handler.
    assert isinstance(hub.endpoint, RouteEndpoint)

    async def handler(sock: ISocket) -> None:
        pass

    with pytest.raises(TypeError):
        hub.endpoint(handler)  # type: ignore[call-arg]
    room = hub.channel("room:{id}")

    @room.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.emit("pong", event="pong")

    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        send(ws, "room:1", "join")
        send(ws, "room:1", "ping")
        assert ws.receive_text() == frame("room:1", "pong", "pong")


def test_a_bare_hub_accepts_and_answers() -> None:
    hub = SocketHub("/ws")
    with TestClient(app_for(hub)) as client, client.websocket_connect("/ws") as ws:
        send(ws, "room:1", "join")
        assert ws.receive_text() == TOPIC_NOT_FOUND


def test_a_hub_without_a_lifespan_still_serves() -> None:
    hub = ping_hub("/ws")
    with TestClient(Starlette(routes=[hub])) as client:
        assert ping_over(client, "/ws") == {"pong": 1, "path": {}}
