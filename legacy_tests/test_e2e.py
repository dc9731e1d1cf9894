"""The 0.1 chat on a real server: the checked-in transcript, replayed by real ``websockets``
clients against real uvicorn (both of its WebSocket implementations), plus the two ways
an 0.1 handshake is refused as a browser would see them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from legacy_tests.test_transcript import TRANSCRIPTS, encode, load_app
from tests.support import uvicorn_thread

pytestmark = pytest.mark.e2e

WS_IMPLEMENTATIONS = ["websockets-sansio", "wsproto"]
GUARD = 10  # seconds: turns a missing frame into a failure instead of a hang


async def play(port: int, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = f"127.0.0.1:{port}"
    sockets: dict[str, ClientConnection] = {}
    observed: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        try:
            for step in steps:
                name = step.get("client")
                seen: dict[str, Any] = {k: v for k, v in step.items() if k != "why"}
                if "connect" in step:
                    try:
                        sockets[name] = await connect(f"ws://{base}{step['connect']}")
                    except InvalidStatus as refused:
                        # A close before accept reaches a real client as HTTP 403, so
                        # only the status is observable here (TestClient sees the code).
                        status = refused.response.status_code
                        seen["refused"] = step["refused"] if status == 403 else status
                elif "send" in step:
                    await sockets[name].send(encode(step["send"]))
                elif "recv" in step:
                    text = await asyncio.wait_for(sockets[name].recv(), GUARD)
                    assert isinstance(text, str)
                    seen["recv"] = json.loads(text)
                    assert text == encode(seen["recv"])
                elif "close" in step:
                    await sockets.pop(name).close(step["close"])
                elif "http" in step:
                    response = await http.request(step["http"], step["path"], json=step["json"])
                    seen["status"] = response.status_code
                    seen["response"] = response.json()
                observed.append(seen)
        finally:
            for sock in sockets.values():
                await sock.close()
    return observed


@pytest.mark.parametrize("ws", WS_IMPLEMENTATIONS)
async def test_transcript_on_uvicorn(ws: str) -> None:
    transcript = json.loads((TRANSCRIPTS / "legacy_chat.json").read_text(encoding="utf-8"))
    steps = transcript["steps"]
    with uvicorn_thread(load_app(transcript["app"]), ws=ws) as port:
        observed = await play(port, steps)
    expected = [{k: v for k, v in step.items() if k != "why"} for step in steps]
    assert observed == expected
    for step, seen in zip(expected, observed, strict=True):
        if "recv" in step:
            assert encode(seen["recv"]) == encode(step["recv"])


@pytest.mark.parametrize("ws", WS_IMPLEMENTATIONS)
async def test_missing_handler_param_is_refused_with_400(ws: str) -> None:
    with uvicorn_thread(load_app("examples.legacy_chat.app:app"), ws=ws) as port:
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"ws://127.0.0.1:{port}/ws")
    assert refused.value.response.status_code == 400
    assert b"missing required parameter 'user'" in refused.value.response.body
