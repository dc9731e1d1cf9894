"""allowed_origins: cross-site WebSocket hijacking (CSWSH) defence.

Every test runs against both kinds of route: the hub and the low-level route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette

from sockethub import ISocket, SocketHub, WebSocketRoute
from sockethub.testing import ConnectRefused, HubClient
from sockethub.testing.served import connect_served
from tests.support import uvicorn_thread

AppWith = Callable[..., tuple[Starlette, list[str]]]


def hub_with(**kwargs: Any) -> tuple[Starlette, list[str]]:
    connected: list[str] = []
    hub = SocketHub("/ws", **kwargs)

    @hub.on_connect
    async def on_connect(sock: ISocket) -> None:
        connected.append(sock.headers.get("origin", "<none>"))

    return Starlette(routes=[hub]), connected


def route_with(**kwargs: Any) -> tuple[Starlette, list[str]]:
    connected: list[str] = []
    route = WebSocketRoute("/ws", **kwargs)

    @route.endpoint
    async def endpoint(sock: ISocket) -> None:
        connected.append(sock.headers.get("origin", "<none>"))
        await sock.accept()
        await sock.websocket.receive()  # until the client leaves

    return Starlette(routes=[route]), connected


@pytest.fixture(params=[hub_with, route_with], ids=["hub", "route"])
def app_with(request: pytest.FixtureRequest) -> AppWith:
    return request.param  # type: ignore[no-any-return]


def test_off_by_default_any_origin_connects(app_with: AppWith) -> None:
    app, connected = app_with()
    with (
        HubClient(app) as client,
        client.connect("/ws", headers={"origin": "https://evil.example"}),
    ):
        pass
    assert connected == ["https://evil.example"]


@pytest.mark.parametrize(
    "origin", ["https://chat.example.com", "HTTPS://Chat.Example.com", "https://chat.example.com/"]
)
def test_listed_origins_connect(app_with: AppWith, origin: str) -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with HubClient(app) as client, client.connect("/ws", headers={"origin": origin}):
        pass
    assert connected == [origin]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://chat.example.com.evil.example",
        "http://chat.example.com",
        "null",
    ],
)
def test_unlisted_origins_are_refused_before_on_connect(app_with: AppWith, origin: str) -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with HubClient(app) as client:
        with pytest.raises(ConnectRefused) as denied:
            client.connect("/ws", headers={"origin": origin})
        assert denied.value.status == 403
        assert denied.value.reason == "Origin not allowed"
    assert connected == []


def test_clients_without_origin_are_admitted_unless_told_otherwise(app_with: AppWith) -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with HubClient(app) as client, client.connect("/ws"):
        pass
    assert connected == ["<none>"]
    strict, strict_connected = app_with(
        allowed_origins=["https://chat.example.com"], allow_missing_origin=False
    )
    with HubClient(strict) as client:
        with pytest.raises(ConnectRefused):
            client.connect("/ws")
    assert strict_connected == []


def test_star_allows_any_origin(app_with: AppWith) -> None:
    app, connected = app_with(allowed_origins=["*"])
    with (
        HubClient(app) as client,
        client.connect("/ws", headers={"origin": "https://x.example"}),
    ):
        pass
    assert connected == ["https://x.example"]


def test_a_string_instead_of_a_list_is_refused() -> None:
    with pytest.raises(TypeError, match="list of origins"):
        SocketHub("/ws", allowed_origins="https://chat.example.com")
    with pytest.raises(TypeError, match="list of origins"):
        WebSocketRoute("/ws", allowed_origins="https://chat.example.com")


async def test_refused_origin_over_real_uvicorn_is_http_403(app_with: AppWith) -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with uvicorn_thread(app) as port:
        url = f"ws://127.0.0.1:{port}/ws"
        with pytest.raises(ConnectRefused) as refused:
            await connect_served(url, headers={"origin": "https://evil.example"})
        assert refused.value.status == 403
        async with await connect_served(url, headers={"origin": "https://chat.example.com"}):
            pass
    assert connected == ["https://chat.example.com"]


def test_child_and_merged_routes_keep_the_policy() -> None:
    parent = WebSocketRoute("/ws", allowed_origins=["https://chat.example.com"])
    reached: list[str] = []

    async def endpoint(sock: ISocket) -> None:
        reached.append(sock.websocket.url.path)
        await sock.accept()
        await sock.close()

    parent.sub("/v1").endpoint(endpoint)
    other = WebSocketRoute("/v2", allowed_origins=["https://chat.example.com"])
    other.endpoint(endpoint)
    parent.merge(other)
    with HubClient(Starlette(routes=[parent])) as client:
        for path in ("/ws/v1", "/ws/v2"):
            with pytest.raises(ConnectRefused):
                client.connect(path, headers={"origin": "https://evil.example"})
            headers = {"origin": "https://chat.example.com"}
            with client.connect(path, headers=headers):
                pass
    assert reached == ["/ws/v1", "/ws/v2"]
