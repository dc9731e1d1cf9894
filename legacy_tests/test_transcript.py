"""The wire transcript of an 0.1 app, before and after the facade.

``transcripts/legacy_chat.json`` is a scripted client session against the 0.1 chat example
(``examples/legacy_chat/app.py``), its frames derived by hand from the 0.1 contract
(``shared/legacy-api.md``) and the app's callbacks, not recorded from this code.  Running
the unchanged app on the 0.2 facade must produce exactly those frames, byte for byte: the
wire is the same before and after.  The transcript's ``same_wire_as`` apps (the hub
version of the same chat, ``examples/chat/app.py``) must produce them too.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def encode(frame: Any) -> str:
    """0.1's frame encoding (Starlette's ``send_json``): compact, UTF-8 as is."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def load_app(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    sys.modules.pop(module_name, None)  # module-level state (the chat's room registry)
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def play(client: TestClient, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``steps`` and return what was observed, in the transcript's own shape."""
    sockets: dict[str, WebSocketTestSession] = {}
    observed: list[dict[str, Any]] = []
    try:
        for step in steps:
            name = step.get("client")
            seen: dict[str, Any] = {k: v for k, v in step.items() if k != "why"}
            if "connect" in step:
                session = client.websocket_connect(step["connect"])
                try:
                    sockets[name] = session.__enter__()
                except WebSocketDisconnect as refused:
                    seen["refused"] = {"code": refused.code, "reason": refused.reason}
            elif "send" in step:
                sockets[name].send_text(encode(step["send"]))
            elif "recv" in step:
                text = sockets[name].receive_text()
                seen["recv"] = json.loads(text) if text == encode(json.loads(text)) else text
            elif "close" in step:
                sockets.pop(name).__exit__(None, None, None)
            elif "http" in step:
                response = client.request(step["http"], step["path"], json=step.get("json"))
                seen["status"] = response.status_code
                seen["response"] = response.json()
            else:
                raise ValueError(f"unknown transcript step {step!r}")
            observed.append(seen)
    finally:
        for session in sockets.values():
            session.__exit__(None, None, None)
    return observed


def cases() -> list[Any]:
    """(transcript, app) pairs: each transcript's 0.1 app, then its ``same_wire_as`` apps."""
    out = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        transcript = json.loads(path.read_text(encoding="utf-8"))
        for app in (transcript["app"], *transcript.get("same_wire_as", ())):
            out.append(pytest.param(path, app, id=f"{path.stem}-{app.split(':')[0]}"))
    return out


@pytest.mark.parametrize(("path", "app"), cases())
def test_transcript(path: Path, app: str) -> None:
    steps = json.loads(path.read_text(encoding="utf-8"))["steps"]
    with TestClient(load_app(app)) as client:
        observed = play(client, steps)
    expected = [{k: v for k, v in step.items() if k != "why"} for step in steps]
    assert observed == expected
    # byte for byte: the observed text re-encodes to itself, and to the expected text
    for step, seen in zip(expected, observed, strict=True):
        if "recv" in step:
            assert encode(seen["recv"]) == encode(step["recv"])


def test_the_transcript_covers_the_0_1_frames() -> None:
    """The checked-in script exercises refusal, join, receive, leave, both error frames,
    server pushes from HTTP, and disconnects."""
    steps = json.loads((TRANSCRIPTS / "legacy_chat.json").read_text(encoding="utf-8"))["steps"]
    received = [encode(s["recv"]) for s in steps if "recv" in s]
    assert '{"code":4404,"reason":"Topic not found"}' in received
    assert '{"code":4404,"reason":"Event not found"}' in received
    events = {s["recv"].get("event") for s in steps if "recv" in s}
    assert {"members", "joined", "message", "sent", "announce", "left"} <= events
    sent = {s["send"]["event"] for s in steps if "send" in s}
    assert {"join", "leave", "say"} <= sent
    assert any("refused" in s for s in steps)
    assert sum("close" in s for s in steps) == 3
