"""Request/reply in the default (0.1 envelope) protocol, over real uvicorn and a plain
``websockets`` client.

A message may carry a ``ref``: then its join, leave, reply or error carry the same ``ref``
and joins/leaves are acknowledged.  Without ``ref`` every frame is byte for byte what 0.1
sent.  "Nothing else arrived" is the test kit's round trip (``assert_nothing_pending``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest

from sockethub.testing.served import ServedTestSocket, connect_served
from tests.phoenix.app import PhoenixApp, build
from tests.support import uvicorn_thread

pytestmark = pytest.mark.e2e

TOPIC_NOT_FOUND = '{"code":4404,"reason":"Topic not found"}'


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, PhoenixApp]]:
    papp = build()
    with uvicorn_thread(papp.app) as port:
        yield port, papp


@pytest.fixture
async def ws(server: tuple[int, PhoenixApp]) -> AsyncIterator[ServedTestSocket]:
    port, _ = server
    async with await connect_served(f"ws://127.0.0.1:{port}/socket/websocket") as ws:
        yield ws


# -- with ref ----------------------------------------------------------------------------------


async def test_join_with_ref_is_acked(ws: ServedTestSocket) -> None:
    await ws.send(topic="room:a", event="join", ref="j1")
    assert await ws.receive_text() == (
        '{"topic":"room:a","event":"reply","payload":{"status":"ok","response":null},"ref":"j1"}'
    )
    await ws.assert_nothing_pending()


async def test_refused_join_with_ref_is_an_error_reply_and_join_payload_reaches_on_join(
    ws: ServedTestSocket, server: tuple[int, PhoenixApp]
) -> None:
    _, papp = server
    await ws.send(topic="room:secret", event="join", payload={"password": "no"}, ref="j2")
    assert await ws.receive_text() == (
        '{"topic":"room:secret","event":"reply",'
        '"payload":{"status":"error","response":{"reason":"Wrong password"}},"ref":"j2"}'
    )
    await ws.send(topic="room:secret", event="join", payload={"password": "sesame"}, ref="j3")
    assert json.loads(await ws.receive_text())["payload"] == {"status": "ok", "response": None}
    assert {"topic": "room:secret", "payload": {"password": "sesame"}} in papp.seen.joins


async def test_push_with_ref_returns_the_callback_value(ws: ServedTestSocket) -> None:
    await ws.send(topic="room:a", event="join")
    await ws.send(topic="room:a", event="echo", payload={"n": 1, "s": "é"}, ref="r1")
    assert await ws.receive_text() == (
        '{"topic":"room:a","event":"reply",'
        '"payload":{"status":"ok","response":{"n":1,"s":"é"}},"ref":"r1"}'
    )
    await ws.send(topic="room:a", event="emit", payload=5, ref="r2")  # returns None
    assert await ws.receive_text() == '{"topic":"room:a","event":"pushed","payload":5}'
    assert await ws.receive_text() == (
        '{"topic":"room:a","event":"reply","payload":{"status":"ok","response":null},"ref":"r2"}'
    )


async def test_reply_error_with_ref_is_an_error_reply(ws: ServedTestSocket) -> None:
    await ws.send(topic="room:a", event="join")
    await ws.send(topic="room:a", event="fail", payload="x", ref="r3")
    assert await ws.receive_text() == (
        '{"topic":"room:a","event":"reply","payload":{"status":"error",'
        '"response":{"reason":"Not allowed","asked":"x"}},"ref":"r3"}'
    )


async def test_leave_with_ref_is_acked(
    ws: ServedTestSocket, server: tuple[int, PhoenixApp]
) -> None:
    _, papp = server
    await ws.send(topic="room:leave", event="join")
    await ws.send(topic="room:leave", event="leave", ref="l1")
    assert await ws.receive_text() == (
        '{"topic":"room:leave","event":"reply",'
        '"payload":{"status":"ok","response":null},"ref":"l1"}'
    )
    await ws.assert_nothing_pending()
    assert "room:leave" in papp.seen.exits


async def test_errors_answering_a_ref_carry_it(ws: ServedTestSocket) -> None:
    await ws.send(topic="room:a", event="echo", ref="e1")  # not joined
    assert await ws.receive_text() == '{"code":4404,"reason":"Topic not found","ref":"e1"}'
    await ws.send(topic="room:a", event="join")
    await ws.send(topic="room:a", event="nope", ref="e2")
    assert await ws.receive_text() == '{"code":4404,"reason":"Event not found","ref":"e2"}'
    await ws.send(topic="room:a", event="crash", ref="e3")
    assert await ws.receive_text() == '{"code":4500,"reason":"Internal error","ref":"e3"}'
    await ws.send(topic="", event="x", ref="e4")
    assert json.loads(await ws.receive_text()) == {
        "code": 4400,
        "reason": "Malformed frame: 'topic' must be a non-empty string",
        "ref": "e4",
    }


# -- without ref: 0.1, byte for byte ------------------------------------------------------------


async def test_frames_without_ref_are_unchanged_from_01(ws: ServedTestSocket) -> None:
    await ws.send(topic="room:old", event="join")  # a successful join sends nothing
    await ws.assert_nothing_pending()
    await ws.send(topic="room:old", event="echo", payload=1)  # return value: no reply
    await ws.assert_nothing_pending()
    await ws.send(topic="room:old", event="emit", payload={"b": 2, "a": 1})
    assert (
        await ws.receive_text() == '{"topic":"room:old","event":"pushed","payload":{"b":2,"a":1}}'
    )
    await ws.send(topic="room:old", event="shout", payload="hé")
    assert await ws.receive_text() == '{"topic":"room:old","event":"shouted","payload":"hé"}'
    await ws.send(topic="room:old", event="nope")
    assert await ws.receive_text() == '{"code":4404,"reason":"Event not found"}'
    await ws.send(topic="room:old", event="crash")
    assert await ws.receive_text() == '{"code":4500,"reason":"Internal error"}'
    await ws.send(topic="room:secret", event="join", payload={"password": "no"})
    assert await ws.receive_text() == '{"code":4403,"reason":"Wrong password"}'
    await ws.send(topic="room:old", event="join")
    assert await ws.receive_text() == '{"code":4409,"reason":"Already joined"}'
    await ws.send_text("not json")
    assert await ws.receive_text() == '{"code":4400,"reason":"Malformed frame: not valid JSON"}'
    await ws.send(topic="room:old", event="leave")  # a leave sends nothing
    await ws.assert_nothing_pending()
    await ws.send(topic="room:old", event="echo")
    assert await ws.receive_text() == TOPIC_NOT_FOUND


async def test_reply_error_without_ref_is_a_bare_error_frame(ws: ServedTestSocket) -> None:
    await ws.send(topic="room:a", event="join")
    await ws.send(topic="room:a", event="fail", payload="x")
    assert await ws.receive_text() == '{"code":4422,"reason":"Not allowed"}'
