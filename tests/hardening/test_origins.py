"""allowed_origins: cross-site WebSocket hijacking (CSWSH) defence."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketDenialResponse
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from sockethub import ISocket, SocketHub
from tests.support import uvicorn_thread


def app_with(**kwargs: object) -> tuple[Starlette, list[str]]:
    connected: list[str] = []
    hub = SocketHub("/ws", **kwargs)  # type: ignore[arg-type]

    @hub.on_connect
    async def on_connect(sock: ISocket) -> None:
        connected.append(sock.headers.get("origin", "<none>"))

    return Starlette(routes=[hub]), connected


def test_off_by_default_any_origin_connects() -> None:
    app, connected = app_with()
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws", headers={"origin": "https://evil.example"}),
    ):
        pass
    assert connected == ["https://evil.example"]


@pytest.mark.parametrize(
    "origin", ["https://chat.example.com", "HTTPS://Chat.Example.com", "https://chat.example.com/"]
)
def test_listed_origins_connect(origin: str) -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with TestClient(app) as client, client.websocket_connect("/ws", headers={"origin": origin}):
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
def test_unlisted_origins_are_refused_before_on_connect(origin: str) -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with TestClient(app) as client:
        with pytest.raises(WebSocketDenialResponse) as denied:
            with client.websocket_connect("/ws", headers={"origin": origin}):
                pass
        assert denied.value.status_code == 403
        assert denied.value.text == "Origin not allowed"
    assert connected == []


def test_clients_without_origin_are_admitted_unless_told_otherwise() -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with TestClient(app) as client, client.websocket_connect("/ws"):
        pass
    assert connected == ["<none>"]
    strict, strict_connected = app_with(
        allowed_origins=["https://chat.example.com"], allow_missing_origin=False
    )
    with TestClient(strict) as client:
        with pytest.raises(WebSocketDenialResponse):
            with client.websocket_connect("/ws"):
                pass
    assert strict_connected == []


def test_star_allows_any_origin() -> None:
    app, connected = app_with(allowed_origins=["*"])
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws", headers={"origin": "https://x.example"}),
    ):
        pass
    assert connected == ["https://x.example"]


def test_a_string_instead_of_a_list_is_refused() -> None:
    with pytest.raises(TypeError, match="list of origins"):
        SocketHub("/ws", allowed_origins="https://chat.example.com")


async def test_refused_origin_over_real_uvicorn_is_http_403() -> None:
    app, connected = app_with(allowed_origins=["https://chat.example.com"])
    with uvicorn_thread(app) as port:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://127.0.0.1:{port}/ws", origin="https://evil.example"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
        async with connect(f"ws://127.0.0.1:{port}/ws", origin="https://chat.example.com"):  # type: ignore[arg-type]
            pass
    assert connected == ["https://chat.example.com"]
