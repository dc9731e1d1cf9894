"""Property-based: random frames against a hub.

Invariants, after every frame: the connection answers exactly as the model says (every
frame here carries a ``ref`` or is malformed, so every frame gets exactly one answer),
and the bus holds exactly the subscriptions of the topics currently joined.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from sockethub import ISocket, SocketHub
from sockethub.testing import HubClient

TOPICS = ["room:1", "room:2", "lobby", "zzz", "room:"]
JOINABLE = {"room:1", "room:2", "lobby"}
EVENTS = ["join", "leave", "echo", "boom", "nope"]

valid = st.builds(
    lambda topic, event, payload: {"topic": topic, "event": event, "payload": payload},
    st.sampled_from(TOPICS),
    st.sampled_from(EVENTS),
    st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3)),
)
junk_text = st.text(max_size=40).filter(lambda t: not _is_object(t))
junk_object = st.dictionaries(
    st.sampled_from(["topic", "event", "payload", "x"]),
    st.one_of(st.integers(), st.none(), st.lists(st.integers(), max_size=2), st.booleans()),
    max_size=4,
)
frames = st.lists(
    st.one_of(
        valid.map(lambda f: ("valid", f)),
        junk_text.map(lambda t: ("text", t)),
        junk_object.map(lambda o: ("text", json.dumps(o))),
        st.binary(max_size=20).map(lambda b: ("bytes", b)),
    ),
    max_size=25,
)


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def make_app() -> tuple[Starlette, SocketHub, list[str]]:
    exits: list[str] = []
    hub = SocketHub("/ws")
    for pattern in ("room:{id}", "lobby"):
        ch = hub.channel(pattern)

        @ch.on_exit
        async def on_exit(sock: ISocket) -> None:
            assert sock.topic is not None
            exits.append(sock.topic)

        @ch.on_receive("echo")
        async def echo(payload: Any, sock: ISocket) -> Any:
            return payload

        @ch.on_receive("boom")
        async def boom(payload: Any, sock: ISocket) -> None:
            raise ValueError("boom")

    return Starlette(routes=[hub]), hub, exits


def expected(frame: dict[str, Any], ref: str, joined: set[str]) -> dict[str, Any]:
    """The model: the one answer to a valid frame, and its effect on ``joined``."""
    topic, event = frame["topic"], frame["event"]

    def ok(response: Any = None) -> dict[str, Any]:
        return {
            "topic": topic,
            "event": "reply",
            "payload": {"status": "ok", "response": response},
            "ref": ref,
        }

    not_found = {"code": 4404, "reason": "Topic not found", "ref": ref}
    if event == "join":
        if topic in joined:
            return {"code": 4409, "reason": "Already joined", "ref": ref}
        if topic not in JOINABLE:
            return not_found
        joined.add(topic)
        return ok()
    if topic not in joined:
        return not_found
    if event == "leave":
        joined.discard(topic)
        return ok()
    if event == "echo":
        return ok(frame["payload"])
    if event == "boom":
        return {"code": 4500, "reason": "Internal error", "ref": ref}
    return {"code": 4404, "reason": "Event not found", "ref": ref}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_random_frames_keep_the_hub_consistent(script: list[tuple[str, Any]]) -> None:
    app, hub, exits = make_app()
    joined: set[str] = set()
    joins = 0
    with HubClient(app) as client, client.connect("/ws") as ws:
        for i, (kind, frame) in enumerate(script):
            if kind == "valid":
                ref = str(i)
                was = len(joined)
                ws.send_text(json.dumps({**frame, "ref": ref}))
                assert ws.receive_json() == expected(frame, ref, joined)
                joins += len(joined) > was
            elif kind == "text":
                ws.send_text(frame)
                assert ws.receive_json()["code"] == 4400
            else:
                ws.send_bytes(frame)
                assert ws.receive_json()["code"] == 4400
            assert set(hub.bus.topics()) == joined  # type: ignore[attr-defined]
            assert all(n == 1 for n in hub.bus.topics().values())  # type: ignore[attr-defined]
    assert hub.bus.topics() == {}  # type: ignore[attr-defined]
    assert len(exits) == joins
