"""Every class of bad input, over a real connection on real uvicorn.

Each case asserts the documented answer, then that a second, well-behaved connection on
the same hub was not disturbed (it still gets its replies and broadcasts).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.hardening.app import build
from tests.rawws import RawClient
from tests.support import uvicorn_thread

pytestmark = pytest.mark.e2e

BAD_FRAME = 4400


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, Any]]:
    app, hub, limited, _ = build()
    with uvicorn_thread(app) as port:
        yield port, (hub, limited)


@pytest.fixture
async def victim(server: tuple[int, Any]) -> AsyncIterator[ClientConnection]:
    port, _ = server
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send(json.dumps({"topic": "room:v", "event": "join", "ref": "j"}))
        assert json.loads(await ws.recv())["payload"]["status"] == "ok"
        yield ws


async def assert_undisturbed(ws: ClientConnection) -> None:
    """The well-behaved connection still gets replies and broadcasts."""
    await ws.send(json.dumps({"topic": "room:v", "event": "echo", "payload": 1, "ref": "e"}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert reply["payload"] == {"status": "ok", "response": 1}
    await ws.send(json.dumps({"topic": "room:v", "event": "say", "payload": "hi"}))
    said = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert said == {"topic": "room:v", "event": "said", "payload": "hi"}


async def answer(ws: ClientConnection, frame: str | bytes) -> dict[str, Any]:
    await ws.send(frame)
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


def envelope(**fields: Any) -> str:
    return json.dumps(fields)


MALFORMED = [
    pytest.param("{", "not valid JSON", id="not-json"),
    pytest.param("", "not valid JSON", id="empty"),
    pytest.param("[" * 30000 + "]" * 30000, "not valid JSON", id="deep-nesting"),
    pytest.param("[1, 2]", "expected a JSON object", id="array"),
    pytest.param('"text"', "expected a JSON object", id="string"),
    pytest.param("null", "expected a JSON object", id="null"),
    pytest.param(envelope(event="join"), "'topic'", id="no-topic"),
    pytest.param(envelope(topic=1, event="join"), "'topic'", id="topic-int"),
    pytest.param(envelope(topic=None, event="join"), "'topic'", id="topic-null"),
    pytest.param(envelope(topic=["room:1"], event="join"), "'topic'", id="topic-list"),
    pytest.param(envelope(topic={}, event="join"), "'topic'", id="topic-object"),
    pytest.param(envelope(topic="", event="join"), "'topic'", id="topic-empty"),
    pytest.param(envelope(topic="room:1"), "'event'", id="no-event"),
    pytest.param(envelope(topic="room:1", event=7), "'event'", id="event-int"),
    pytest.param(envelope(topic="room:1", event=True), "'event'", id="event-bool"),
    pytest.param(envelope(topic="room:1", event=[]), "'event'", id="event-list"),
    pytest.param(envelope(topic="room:1", event="join", ref={}), "'ref'", id="ref-object"),
    pytest.param(envelope(topic="room:1", event="join", ref=True), "'ref'", id="ref-bool"),
    pytest.param(b'{"topic":"room:1","event":"join"}', "binary", id="binary"),
]


@pytest.mark.parametrize(("frame", "reason"), MALFORMED)
async def test_malformed_frames_get_a_4400_error_and_the_connection_goes_on(
    server: tuple[int, Any], victim: ClientConnection, frame: str | bytes, reason: str
) -> None:
    port, _ = server
    async with connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
        error = await answer(ws, frame)
        assert error["code"] == BAD_FRAME
        assert reason in error["reason"]
        # still usable afterwards
        assert (await answer(ws, envelope(topic="nope", event="x"))) == {
            "code": 4404,
            "reason": "Topic not found",
        }
    await assert_undisturbed(victim)


async def test_deeply_nested_payload_inside_a_valid_envelope_round_trips(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, _ = server
    nested: Any = "x"
    for _ in range(500):
        nested = [nested]
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await answer(ws, envelope(topic="room:1", event="join", ref="j"))
        reply = await answer(ws, envelope(topic="room:1", event="echo", payload=nested, ref="n"))
        assert reply["payload"]["response"] == nested
    await assert_undisturbed(victim)


async def test_huge_string_closes_with_1009(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, _ = server
    async with connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
        await ws.send(envelope(topic="room:1", event="echo", payload="x" * 1_000_000))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    await assert_undisturbed(victim)


async def test_invalid_utf8_closes_with_1007(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, _ = server
    raw = await asyncio.to_thread(RawClient, port, "/ws")
    try:
        await asyncio.to_thread(raw.send_text, b'{"topic":"room:1","event":"\xff\xfe"}')
        assert await asyncio.to_thread(raw.close_code) == 1007
    finally:
        raw.close()
    await assert_undisturbed(victim)


async def test_unknown_event_on_a_joined_topic(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, _ = server
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await answer(ws, envelope(topic="room:1", event="join", ref="j"))
        assert await answer(ws, envelope(topic="room:1", event="nope")) == {
            "code": 4404,
            "reason": "Event not found",
        }
    await assert_undisturbed(victim)


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param("room:\x00", id="nul"),
        pytest.param("room:a\nb", id="newline"),
        pytest.param("room:\x1b[31m", id="escape"),
        pytest.param("room:" + "x" * 10_000, id="10kB"),
    ],
)
async def test_invalid_topics_are_refused_on_join(
    server: tuple[int, Any], victim: ClientConnection, topic: str
) -> None:
    port, (hub, _) = server
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        error = await answer(ws, envelope(topic=topic, event="join"))
        assert error == {"code": BAD_FRAME, "reason": "Malformed frame: invalid topic"}
        assert topic not in hub.bus.topics()
        # a message to such a topic is simply not joined
        assert (await answer(ws, envelope(topic=topic, event="echo")))["code"] == 4404
    await assert_undisturbed(victim)


async def test_ten_thousand_joins_stop_at_the_topic_limit(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, (hub, _) = server
    limit = hub.limits.max_topics
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        for i in range(10_000):
            await ws.send(envelope(topic=f"room:j{i}", event="join", ref=str(i)))
        answers = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(10_000)]
        ok = [a for a in answers if a.get("payload", {}).get("status") == "ok"]
        refused = [a for a in answers if a.get("code") == 4429]
        assert len(ok) == limit
        assert len(refused) == 10_000 - limit
        assert sum(1 for t in hub.bus.topics() if t.startswith("room:j")) == limit
    for _ in range(100):
        if not any(t.startswith("room:j") for t in hub.bus.topics()):
            break
        await asyncio.sleep(0.05)
    assert not any(t.startswith("room:j") for t in hub.bus.topics())
    await assert_undisturbed(victim)


async def test_flood_on_an_unlimited_hub_is_answered_in_order(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, _ = server
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await answer(ws, envelope(topic="room:f", event="join", ref="j"))
        for i in range(5_000):
            await ws.send(envelope(topic="room:f", event="echo", payload=i, ref=str(i)))
        got = [json.loads(await asyncio.wait_for(ws.recv(), 10))["ref"] for _ in range(5_000)]
        assert got == [str(i) for i in range(5_000)]
    await assert_undisturbed(victim)


async def test_flood_on_a_rate_limited_hub_closes_with_1008(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, _ = server
    async with connect(f"ws://127.0.0.1:{port}/ws/limited") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            for i in range(5_000):
                await ws.send(envelope(topic="room:f", event="echo", payload=i))
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await assert_undisturbed(victim)


async def test_no_internal_detail_reaches_the_client(
    server: tuple[int, Any], victim: ClientConnection
) -> None:
    port, _ = server
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await answer(ws, envelope(topic="room:1", event="join", ref="j"))
        raw = await ws.send(envelope(topic="room:1", event="boom", ref="b")) or await ws.recv()
        assert raw == '{"code":4500,"reason":"Internal error","ref":"b"}'
        assert "secret" not in raw and "Traceback" not in raw
    await assert_undisturbed(victim)
