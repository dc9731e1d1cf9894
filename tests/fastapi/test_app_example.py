"""The README's FastAPI app (examples/fastapi_app.py): over TestClient, and end to end on
real uvicorn with the ``websockets`` client."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from examples import fastapi_app
from examples.fastapi_app import app, current_user
from tests.support import ROOT, uvicorn_thread

JOIN_LOBBY = json.dumps({"topic": "room:lobby", "event": "join", "ref": "1"})
JOINED_AS = '{{"topic":"room:lobby","event":"reply","payload":{{"status":"ok","response":{{"user":"{}"}}}},"ref":"1"}}'


def test_the_readme_shows_this_very_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = (ROOT / "examples" / "fastapi_app.py").read_text(encoding="utf-8")
    body = source.split('"""', 2)[2].lstrip("\n")  # the module without its docstring
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert body in blocks


def test_lifespans_combined() -> None:
    with TestClient(app) as client:
        assert app.state.motd == "welcome"
        with client.websocket_connect("/api/rooms/lobby?token=bob-token") as ws:
            ws.send_text(JOIN_LOBBY)
            assert ws.receive_text() == JOINED_AS.format("bob")
    assert app.state.motd is None


def test_refused_without_token_with_1008_and_the_reason() -> None:
    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/api/rooms/lobby?token=nope"):
                pass
        assert (info.value.code, info.value.reason) == (1008, "unknown token")
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/api/rooms/lobby"):
                pass
        assert info.value.code == 1008
    assert fastapi_app.hub.stats.refused >= 2


def test_dependency_override() -> None:
    app.dependency_overrides[current_user] = lambda: "tester"
    try:
        with TestClient(app) as client:
            with client.websocket_connect("/api/rooms/lobby") as ws:
                ws.send_text(JOIN_LOBBY)
                assert ws.receive_text() == JOINED_AS.format("tester")
    finally:
        app.dependency_overrides.clear()


def test_without_the_prefix_nothing_is_served() -> None:
    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/rooms/lobby?token=bob-token"):
                pass


@pytest.mark.e2e
async def test_end_to_end_on_uvicorn() -> None:
    with uvicorn_thread(app, ws="websockets-sansio") as port:
        base = f"ws://127.0.0.1:{port}"
        with pytest.raises(InvalidStatus) as info:  # refused before accept: HTTP 403
            async with connect(f"{base}/api/rooms/lobby?token=wrong"):
                pass
        assert info.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as info:  # no such route without the prefix
            async with connect(f"{base}/rooms/lobby?token=alice-token"):
                pass
        assert info.value.response.status_code == 403
        async with (
            connect(f"{base}/api/rooms/lobby?token=alice-token") as alice,
            connect(f"{base}/api/rooms/lobby?token=bob-token") as bob,
        ):
            await alice.send(JOIN_LOBBY)
            assert await alice.recv() == JOINED_AS.format("alice")
            await bob.send(JOIN_LOBBY)
            assert await bob.recv() == JOINED_AS.format("bob")
            await alice.send(json.dumps({"topic": "room:lobby", "event": "say", "payload": "hi"}))
            said = '{"topic":"room:lobby","event":"said","payload":{"from":"alice","text":"hi"}}'
            assert await alice.recv() == said
            assert await bob.recv() == said
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                answer = await http.post("/api/rooms/lobby/announce", params={"text": "yo"})
            assert answer.json() == {"sent": True}
            announced = (
                '{"topic":"room:lobby","event":"said","payload":{"from":"server","text":"yo"}}'
            )
            assert await bob.recv() == announced
            await bob.send(json.dumps({"topic": "room:other", "event": "join"}))
            assert json.loads(await bob.recv()) == {
                "code": 4403,
                "reason": "join the room you connected to",
            }
