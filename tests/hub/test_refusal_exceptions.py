"""``WebSocketException`` / ``HTTPException`` raised in ``on_connect`` refuse the handshake
(FastAPI's usual ways), with no error log and no traceback."""

from __future__ import annotations

import logging

import pytest
from starlette.exceptions import HTTPException, WebSocketException
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from sockethub import ISocket, SocketHub
from tests.hub.helpers import app_for, probe


def refusing_hub(exc: Exception) -> tuple[SocketHub, list[str]]:
    hub = SocketHub("/ws")
    ended: list[str] = []

    @hub.on_connect
    async def connect(sock: ISocket, refuse: bool = True) -> None:
        if refuse:
            raise exc

    @hub.on_disconnect
    async def disconnect(sock: ISocket) -> None:
        ended.append("disconnect")

    return hub, ended


def test_websocket_exception_refuses_with_its_code_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub, ended = refusing_hub(WebSocketException(4401, "who are you"))
    caplog.set_level(logging.INFO)
    with TestClient(app_for(hub)) as client:
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
            pass
        assert (info.value.code, info.value.reason) == (4401, "who are you")
        with client.websocket_connect("/ws?refuse=0") as ws:
            probe(ws)
    assert ended == ["disconnect"]  # the refused one never reached on_disconnect
    assert (hub.stats.refused, hub.stats.callback_errors) == (1, 0)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    assert any(
        r.name == "sockethub.handshake" and "4401 who are you" in r.getMessage()
        for r in caplog.records
    )


def test_a_long_reason_is_cut_to_what_a_close_frame_holds() -> None:
    hub, _ = refusing_hub(WebSocketException(1008, "é" * 100))
    with TestClient(app_for(hub)) as client:
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
            pass
    assert info.value.code == 1008
    assert len(info.value.reason.encode()) <= 123
    assert info.value.reason.startswith("éé") and info.value.reason.endswith("...")


def test_http_exception_refuses_with_its_status_and_headers() -> None:
    exc = HTTPException(401, "log in first", headers={"www-authenticate": "Bearer"})
    hub, _ = refusing_hub(exc)
    with TestClient(app_for(hub)) as client:
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws"):
            pass
    assert info.value.status_code == 401
    assert info.value.json() == {"detail": "log in first"}
    assert info.value.headers["www-authenticate"] == "Bearer"
    assert hub.stats.callback_errors == 0


def test_http_exception_with_a_detail_json_cannot_carry() -> None:
    hub, _ = refusing_hub(HTTPException(400, {"odd": {1}}))  # type: ignore[arg-type]
    with TestClient(app_for(hub)) as client:
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws"):
            pass
    assert info.value.status_code == 400
    assert info.value.text == "{'odd': {1}}"
