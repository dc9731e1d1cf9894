"""0.1 managed mode: registration (any order, handler styles, mode mixing), the hooks'
keyword arguments from the handler signature, and ``allow_if``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, WebSocketRoute
from sockethub.channel import TOPIC_NOT_FOUND, RejectError


def client_for(*routes: WebSocketRoute) -> TestClient:
    return TestClient(Starlette(routes=list(routes)))


# -- registration order ---------------------------------------------------------------------

STEPS = ("handler", "on_connect", "on_disconnect", "channel")


@pytest.mark.parametrize("order", list(itertools.permutations(STEPS)), ids="-".join)
def test_any_registration_order_works(order: tuple[str, ...]) -> None:
    route = WebSocketRoute("/ws/{room}")
    log: list[Any] = []

    async def handle(room: str, user: str) -> None:
        return None

    async def on_connect(sock: ISocket, room: str, user: str) -> None:
        log.append(("connect", room, user))

    async def on_disconnect(sock: ISocket, room: str, user: str) -> None:
        log.append(("disconnect", room, user))

    async def on_chat(payload: Any, sock: ISocket) -> None:
        await sock.reply({"echo": payload})

    register: dict[str, Callable[[], None]] = {
        "handler": lambda: route.handler(handle),
        "on_connect": lambda: route.on_connect(on_connect),
        "on_disconnect": lambda: route.on_disconnect(on_disconnect),
        "channel": lambda: route.channel("chat:{id}").on_receive("say")(on_chat),
    }
    for step in order:
        register[step]()

    with client_for(route).websocket_connect("/ws/lobby?user=ann") as ws:
        ws.send_json({"topic": "chat:1", "event": "join"})
        ws.send_json({"topic": "chat:1", "event": "say", "payload": "hi"})
        assert ws.receive_json() == {"topic": "chat:1", "event": "reply", "payload": {"echo": "hi"}}
    assert log == [("connect", "lobby", "ann"), ("disconnect", "lobby", "ann")]


def test_handler_as_decorator_returns_the_function() -> None:
    route = WebSocketRoute("/ws")

    @route.handler
    async def handle_ws() -> None:
        return None

    assert handle_ws.__name__ == "handle_ws"
    route.channel("room:{id}")
    with client_for(route).websocket_connect("/ws") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "nowhere", "event": "x"})
        assert ws.receive_json() == TOPIC_NOT_FOUND


def test_handler_as_plain_call_returns_the_function() -> None:
    route = WebSocketRoute("/ws")

    async def noop() -> None:
        return None

    assert route.handler(noop) is noop
    room = route.channel("room:{id}")

    @room.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.reply("pong")

    with client_for(route).websocket_connect("/ws") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "ping"})
        assert ws.receive_json() == {"topic": "room:1", "event": "reply", "payload": "pong"}


def test_the_handler_body_never_runs() -> None:
    route = WebSocketRoute("/ws")
    ran: list[str] = []

    @route.handler
    async def handle_ws(user: str = "x") -> None:
        ran.append("handler")

    route.channel("room:{id}")
    with client_for(route).websocket_connect("/ws?user=a") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "nope"})
        ws.receive_json()
    assert ran == []


def test_channels_alone_make_a_managed_route() -> None:
    route = WebSocketRoute("/ws")
    room = route.channel("room:{id}")

    @room.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.emit(payload, event="pong")

    with client_for(route).websocket_connect("/ws") as ws:
        ws.send_json({"topic": "room:9", "event": "join"})
        ws.send_json({"topic": "room:9", "event": "ping", "payload": 1})
        assert ws.receive_json() == {"topic": "room:9", "event": "pong", "payload": 1}


def test_hooks_alone_make_a_managed_route() -> None:
    route = WebSocketRoute("/ws")
    log: list[str] = []

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        log.append("connect")

    @route.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append("disconnect")

    with client_for(route).websocket_connect("/ws") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        assert ws.receive_json() == TOPIC_NOT_FOUND
    assert log == ["connect", "disconnect"]


# -- mode mixing -------------------------------------------------------------------------------


async def endpoint_func(sock: ISocket) -> None:
    await sock.accept()


@pytest.mark.parametrize(
    "managed_call",
    [
        lambda r: r.channel("room:{id}"),
        lambda r: r.on_connect(endpoint_func),
        lambda r: r.on_disconnect(endpoint_func),
        lambda r: r.handler(endpoint_func),
    ],
    ids=["channel", "on_connect", "on_disconnect", "handler"],
)
def test_endpoint_then_managed_call_is_refused(managed_call: Callable[[Any], Any]) -> None:
    route = WebSocketRoute("/ws")
    route.endpoint(endpoint_func)
    with pytest.raises(RuntimeError):
        managed_call(route)


@pytest.mark.parametrize(
    "managed_call",
    [
        lambda r: r.channel("room:{id}"),
        lambda r: r.on_connect(endpoint_func),
        lambda r: r.on_disconnect(endpoint_func),
        lambda r: r.handler(endpoint_func),
    ],
    ids=["channel", "on_connect", "on_disconnect", "handler"],
)
def test_managed_call_then_endpoint_is_refused(managed_call: Callable[[Any], Any]) -> None:
    route = WebSocketRoute("/ws")
    managed_call(route)
    with pytest.raises(RuntimeError):
        route.endpoint(endpoint_func)


def test_handler_twice_is_refused() -> None:
    route = WebSocketRoute("/ws")

    @route.handler
    async def first() -> None:
        return None

    async def second() -> None:
        return None

    with pytest.raises(RuntimeError):
        route.handler(second)


# -- hook keyword arguments from the handler signature --------------------------------------


def kwargs_route(path: str, handler: Callable[..., Any]) -> tuple[WebSocketRoute, list[Any]]:
    route = WebSocketRoute(path)
    seen: list[Any] = []
    route.handler(handler)

    @route.on_connect
    async def on_connect(sock: ISocket, **params: Any) -> None:
        seen.append(("connect", params))

    @route.on_disconnect
    async def on_disconnect(sock: ISocket, **params: Any) -> None:
        seen.append(("disconnect", params))

    return route, seen


def test_hooks_get_path_and_query_params_converted() -> None:
    async def handle(
        room: str, page: int, ratio: float, loud: bool, name: str = "anon", limit: int = 10
    ) -> None:
        return None

    route, seen = kwargs_route("/ws/{room}", handle)
    url = "/ws/kitchen?page=3&ratio=0.5&loud=true&name=ann"
    with client_for(route).websocket_connect(url):
        pass
    expected = {
        "room": "kitchen",
        "page": 3,
        "ratio": 0.5,
        "loud": True,
        "name": "ann",
        "limit": 10,
    }
    assert seen == [("connect", expected), ("disconnect", expected)]
    assert type(expected["page"]) is int


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("no", False)],
)
def test_bool_params(raw: str, value: bool) -> None:
    async def handle(flag: bool) -> None:
        return None

    route, seen = kwargs_route("/ws", handle)
    with client_for(route).websocket_connect(f"/ws?flag={raw}"):
        pass
    assert seen[0] == ("connect", {"flag": value})


def test_path_param_with_convertor() -> None:
    async def handle(game_id: int) -> None:
        return None

    route, seen = kwargs_route("/ws/{game_id:int}", handle)
    with client_for(route).websocket_connect("/ws/42"):
        pass
    assert seen[0] == ("connect", {"game_id": 42})


def test_path_params_win_over_query() -> None:
    async def handle(room: str) -> None:
        return None

    route, seen = kwargs_route("/ws/{room}", handle)
    with client_for(route).websocket_connect("/ws/from-path?room=from-query"):
        pass
    assert seen[0] == ("connect", {"room": "from-path"})


def test_handler_may_declare_the_socket() -> None:
    async def handle(sock: ISocket, user: str) -> None:
        return None

    route, seen = kwargs_route("/ws", handle)
    with client_for(route).websocket_connect("/ws?user=bo"):
        pass
    assert seen[0] == ("connect", {"user": "bo"})


def test_named_hook_parameters() -> None:
    route = WebSocketRoute("/ws/{room}")
    seen: list[Any] = []

    @route.handler
    async def handle(room: str, user: str) -> None:
        return None

    @route.on_connect
    async def on_connect(sock: ISocket, room: str, user: str) -> None:
        seen.append((room, user))

    with client_for(route).websocket_connect("/ws/r1?user=u1"):
        pass
    assert seen == [("r1", "u1")]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/ws", "missing required parameter 'user'"),
        ("/ws?user=u&page=three", "parameter 'page' must be int, got 'three'"),
    ],
)
def test_missing_or_bad_param_refuses_before_accept(url: str, reason: str) -> None:
    async def handle(user: str, page: int = 1) -> None:
        return None

    route, seen = kwargs_route("/ws", handle)
    with pytest.raises(WebSocketDisconnect) as refused:
        with client_for(route).websocket_connect(url):
            pass
    assert reason in refused.value.text  # type: ignore[attr-defined]
    assert seen == []


def test_hooks_without_handler_get_only_the_socket() -> None:
    route = WebSocketRoute("/ws/{room}")
    seen: list[Any] = []

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        seen.append(sock.path_params["room"])

    with client_for(route).websocket_connect("/ws/r"):
        pass
    assert seen == ["r"]


# -- allow_if --------------------------------------------------------------------------------


def guarded_route(**allow_kwargs: Any) -> tuple[WebSocketRoute, list[str]]:
    route = WebSocketRoute("/ws")
    log: list[str] = []

    @route.handler
    async def handle(token: str = "") -> None:
        return None

    @route.on_connect
    async def on_connect(sock: ISocket, token: str) -> None:
        try:
            await sock.allow_if(token == "secret", **allow_kwargs)
        except RejectError:
            log.append("rejected")
            raise
        log.append("allowed")

    @route.on_disconnect
    async def on_disconnect(sock: ISocket, token: str) -> None:
        log.append("disconnect")

    route.channel("room:{id}")
    return route, log


def test_allow_if_false_closes_with_4403_forbidden() -> None:
    route, log = guarded_route()
    with pytest.raises(WebSocketDisconnect) as closed:
        with client_for(route).websocket_connect("/ws?token=wrong"):
            pass
    assert (closed.value.code, closed.value.reason) == (4403, "Forbidden")
    assert log == ["rejected"]


def test_allow_if_custom_code_and_reason() -> None:
    route, log = guarded_route(code=4001, reason="bad token")
    with pytest.raises(WebSocketDisconnect) as closed:
        with client_for(route).websocket_connect("/ws"):
            pass
    assert (closed.value.code, closed.value.reason) == (4001, "bad token")
    assert log == ["rejected"]


def test_allow_if_true_accepts() -> None:
    route, log = guarded_route()
    with client_for(route).websocket_connect("/ws?token=secret") as ws:
        ws.send_json({"topic": "nowhere", "event": "x"})
        assert ws.receive_json() == TOPIC_NOT_FOUND
    assert log == ["allowed", "disconnect"]


def test_on_connect_can_fill_assigns() -> None:
    route = WebSocketRoute("/ws")
    room = route.channel("room:{id}")

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        sock.assigns["user"] = sock.query_params["user"]

    @room.on_receive("whoami")
    async def whoami(payload: Any, sock: ISocket) -> None:
        await sock.reply(sock.assigns["user"])

    with client_for(route).websocket_connect("/ws?user=zoe") as ws:
        ws.send_json({"topic": "room:1", "event": "join"})
        ws.send_json({"topic": "room:1", "event": "whoami"})
        assert ws.receive_json()["payload"] == "zoe"


def test_on_connect_exception_propagates() -> None:
    route = WebSocketRoute("/ws")
    route.channel("room:{id}")

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        raise LookupError("no such user")

    with pytest.raises(LookupError, match="no such user"):
        with client_for(route).websocket_connect("/ws"):
            pass


def test_raising_reject_error_in_on_connect_refuses() -> None:
    route = WebSocketRoute("/ws")
    route.channel("room:{id}")
    log: list[str] = []

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        raise RejectError("banned")

    @route.on_disconnect
    async def on_disconnect(sock: ISocket) -> None:
        log.append("disconnect")

    with pytest.raises(WebSocketDisconnect) as closed:
        with client_for(route).websocket_connect("/ws"):
            pass
    assert (closed.value.code, closed.value.reason) == (4403, "banned")
    assert log == []
