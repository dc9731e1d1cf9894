"""Connection parameters declared on the hub's hooks: filled like the low-level route's
endpoint parameters, validated before the handshake, refused with HTTP 400 / close 1008."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect as connect_ws
from websockets.exceptions import InvalidStatus

from sockethub import ISocket, SocketHub
from tests.hub.helpers import app_for, probe
from tests.support import uvicorn_thread


def test_on_connect_gets_path_then_query_params_converted() -> None:
    hub = SocketHub("/ws/{room}/{n:int}")
    seen: list[dict[str, Any]] = []

    @hub.on_connect
    async def connect(
        sock: ISocket, room: str, n: int, limit: int, ratio: float = 0.5, on: bool = False
    ) -> None:
        seen.append({"room": room, "n": n, "limit": limit, "ratio": ratio, "on": on})

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws/blue/3?limit=7&on=yes&room=ignored") as ws:
            probe(ws)
        with client.websocket_connect("/ws/red/4?limit=1&ratio=2.5") as ws:
            probe(ws)
    assert seen == [
        {"room": "blue", "n": 3, "limit": 7, "ratio": 0.5, "on": True},
        {"room": "red", "n": 4, "limit": 1, "ratio": 2.5, "on": False},
    ]


def test_optional_parameter_without_default_is_none() -> None:
    hub = SocketHub("/ws")
    seen: list[int | None] = []

    @hub.on_connect
    async def connect(sock: ISocket, limit: int | None) -> None:
        seen.append(limit)

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws") as ws:
            probe(ws)
    assert seen == [None]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/ws/r", "missing required parameter 'limit'"),
        ("/ws/r?limit=many", "parameter 'limit' must be int, got 'many'"),
        ("/ws/r?limit=1&on=maybe", "parameter 'on' must be bool, got 'maybe'"),
    ],
)
def test_bad_parameter_refuses_with_400_before_on_connect(
    url: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    hub = SocketHub("/ws/{room}")
    runs: list[str] = []

    @hub.on_connect
    async def connect(sock: ISocket, room: str, limit: int, on: bool = False) -> None:
        runs.append(room)

    @hub.on_disconnect
    async def disconnect(sock: ISocket) -> None:
        runs.append("disconnect")

    caplog.set_level(logging.INFO, logger="sockethub")
    with TestClient(app_for(hub)) as client:
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect(url):
            pass
        assert info.value.status_code == 400
        assert info.value.text == reason
        with client.websocket_connect("/ws/ok?limit=2") as ws:  # the hub still serves
            probe(ws)
    assert runs == ["ok", "disconnect"]
    assert hub.stats.refused == 1
    assert any(r.name == "sockethub.handshake" and reason in r.getMessage() for r in caplog.records)


def test_parameters_only_on_disconnect_are_validated_before_the_handshake() -> None:
    hub = SocketHub("/ws")
    seen: list[Any] = []

    @hub.on_disconnect
    async def disconnect(sock: ISocket, user: int) -> None:
        seen.append(user)

    with TestClient(app_for(hub)) as client:
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws"):
            pass
        assert info.value.status_code == 400
        assert info.value.text == "missing required parameter 'user'"
        with client.websocket_connect("/ws?user=5") as ws:
            probe(ws)
    assert seen == [5]


def test_each_hook_gets_its_own_and_kwargs_gets_the_rest() -> None:
    hub = SocketHub("/ws/{room}")
    seen: list[tuple[str, dict[str, Any]]] = []

    @hub.on_connect
    async def connect(sock: ISocket, room: str, **rest: Any) -> None:
        seen.append(("connect", {"room": room, **rest}))

    @hub.on_disconnect
    async def disconnect(sock: ISocket, user: int, verbose: bool = False) -> None:
        seen.append(("disconnect", {"user": user, "verbose": verbose}))

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws/lobby?user=9") as ws:
            probe(ws)
    assert seen == [
        ("connect", {"room": "lobby", "user": 9, "verbose": False}),
        ("disconnect", {"user": 9, "verbose": False}),
    ]


def test_kwargs_only_hook_gets_every_parameter_of_the_other_hook() -> None:
    hub = SocketHub("/ws/{room}")
    seen: list[dict[str, Any]] = []

    @hub.on_disconnect
    async def disconnect(sock: ISocket, **params: Any) -> None:
        seen.append(params)

    @hub.on_connect
    async def connect(sock: ISocket, room: str, n: int = 1) -> None:
        pass

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws/x?n=3") as ws:
            probe(ws)
    assert seen == [{"room": "x", "n": 3}]


def test_plain_hooks_are_unchanged() -> None:
    hub = SocketHub("/ws/{room}")
    seen: list[str] = []

    @hub.on_connect
    async def connect(sock: ISocket) -> None:
        seen.append(sock.path_params["room"])

    @hub.on_disconnect
    async def disconnect(sock: ISocket, **params: Any) -> None:
        seen.append(f"bye {params}")

    with TestClient(app_for(hub)) as client:
        with client.websocket_connect("/ws/a?x=1") as ws:
            probe(ws)
    assert seen == ["a", "bye {}"]


def test_raw_websocket_parameter_and_mount_path_params() -> None:
    hub = SocketHub("/ws/{room}")
    seen: list[Any] = []

    @hub.on_connect
    async def connect(sock: ISocket, ws: WebSocket, org: str, room: str) -> None:
        seen.append((ws is sock.websocket, org, room))

    app = Starlette(routes=[Mount("/org/{org}", routes=[hub])], lifespan=hub.lifespan)
    with TestClient(app) as client:
        with client.websocket_connect("/org/acme/ws/r1") as ws:
            probe(ws)
    assert seen == [(True, "acme", "r1")]


class TestRegistration:
    def test_sync_hook_is_refused(self) -> None:
        hub = SocketHub("/ws")

        def connect(sock: ISocket, n: int) -> None:
            pass

        with pytest.raises(TypeError, match=r"on_connect hook must be an async function"):
            hub.on_connect(connect)  # type: ignore[arg-type]

    def test_bad_annotation_names_function_and_parameter(self) -> None:
        hub = SocketHub("/ws")

        async def disconnect(sock: ISocket, when: list[int]) -> None:
            pass

        with pytest.raises(TypeError) as info:
            hub.on_disconnect(disconnect)
        message = str(info.value)
        assert "on_disconnect hook" in message
        assert "'when'" in message
        assert "disconnect" in message
        assert "str, int, float or bool" in message

    @pytest.mark.parametrize("connect_first", [True, False])
    def test_clashing_types_between_hooks(self, connect_first: bool) -> None:
        hub = SocketHub("/ws")

        async def connect(sock: ISocket, n: int) -> None:
            pass

        async def disconnect(sock: ISocket, n: str) -> None:
            pass

        first, second = (
            (hub.on_connect, hub.on_disconnect)
            if connect_first
            else (hub.on_disconnect, hub.on_connect)
        )
        first(connect if connect_first else disconnect)
        with pytest.raises(TypeError) as info:
            second(disconnect if connect_first else connect)
        message = str(info.value)
        assert "connection parameter 'n'" in message
        assert "connect" in message and "disconnect" in message
        assert "int" in message and "str" in message

    def test_same_name_and_type_in_both_hooks_is_fine(self) -> None:
        hub = SocketHub("/ws")

        @hub.on_connect
        async def connect(sock: ISocket, n: int) -> None:
            pass

        @hub.on_disconnect
        async def disconnect(sock: ISocket, n: int = 0) -> None:
            pass

    def test_hook_without_a_socket_parameter(self) -> None:
        hub = SocketHub("/ws")

        async def connect(*, n: int) -> None:
            pass

        with pytest.raises(TypeError, match=r"first positional parameter"):
            hub.on_connect(connect)


@pytest.mark.e2e
async def test_real_client_sees_http_400_on_uvicorn() -> None:
    hub = SocketHub("/ws/{room}")

    @hub.on_connect
    async def connect(sock: ISocket, room: str, limit: int) -> None:
        sock.assigns["limit"] = limit

    with uvicorn_thread(app_for(hub), ws="websockets-sansio") as port:
        with pytest.raises(InvalidStatus) as info:
            async with connect_ws(f"ws://127.0.0.1:{port}/ws/r?limit=lots"):
                pass
        assert info.value.response.status_code == 400
        assert info.value.response.body == b"parameter 'limit' must be int, got 'lots'"
        async with connect_ws(f"ws://127.0.0.1:{port}/ws/r?limit=3") as ws:
            await ws.send('{"topic":"nowhere","event":"ping"}')
            assert await ws.recv() == '{"code":4404,"reason":"Topic not found"}'
