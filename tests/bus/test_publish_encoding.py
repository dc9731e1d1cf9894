"""A payload is encoded when it is published, the same way on every bus.

``hub.publish`` and ``sock.publish`` encode the payload with the hub's codec before the
bus sees it, so a payload that cannot be sent raises the same :class:`EncodeError` (a
``TypeError``), with the same message, on the in-memory bus and on Redis, whether or not
anybody joined the topic, and reaches nobody; a ``datetime`` is converted everywhere.
"Nobody got it" is shown by ordering: a good message published right after is the next
frame the subscriber receives (every bus keeps one topic's messages in order).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sockethub import EncodeError, History, ISocket, SocketHub
from sockethub.bus import InMemorySocketBus, SocketBus
from sockethub.codec import JSONCodec, encode_default
from sockethub.testing import HubClient, TestSocket
from tests.bus.support import eventually
from tests.codecs import CODECS, make
from tests.hub.helpers import app_for
from tests.redis_server import RedisServer

BUSES = ["memory", "redis"]
UNSENDABLE = {"tags": {"a", "b"}}
WHY_SET = "cannot encode as strict JSON: Object of type set is not JSON serializable"


def refusal(topic: str, event: str, why: str = WHY_SET) -> str:
    """The one message every bus refuses an unsendable payload with."""
    return f"cannot publish to topic {topic!r} (event {event!r}): {why}"


def make_bus(kind: str, request: pytest.FixtureRequest) -> SocketBus:
    if kind == "memory":
        return InMemorySocketBus()
    from sockethub.bus.redis import RedisSocketBus

    server: RedisServer = request.getfixturevalue("shared_redis")
    return RedisSocketBus(server.url, prefix=request.getfixturevalue("prefix"))


def build(bus: SocketBus, codec: str) -> SocketHub:
    hub = SocketHub("/ws", bus=bus, codec=make(codec))
    room = hub.channel("room:{id}")

    @room.on_receive("publish")
    async def publish(payload: dict[str, Any], sock: ISocket) -> Any:
        """Publish ``payload["value"]`` to ``payload["topic"]``; answer what happened."""
        value = UNSENDABLE if payload["value"] == "unsendable" else payload["value"]
        try:
            await sock.publish(value, event="said", topic=payload["topic"])
        except EncodeError as exc:
            return {
                "raised": type(exc).__name__,
                "type_error": isinstance(exc, TypeError),
                "message": str(exc),
            }
        return {"raised": None}

    @room.on_receive("publish_uncaught")
    async def publish_uncaught(payload: Any, sock: ISocket) -> None:
        await sock.publish(UNSENDABLE, event="said")

    return hub


@pytest.fixture(params=[(b, c) for b in BUSES for c in ("json", "orjson")], ids="-".join)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[SocketHub, HubClient]]:
    bus_kind, codec = request.param
    hub = build(make_bus(bus_kind, request), codec)
    with HubClient(app_for(hub)) as client:
        yield hub, client


def client_topics(hub: SocketHub) -> dict[str, int]:
    """The bus's topics but the hub's own control topics (not printable; on Redis, the
    node topic commands by connection id arrive on)."""
    return {topic: n for topic, n in hub.bus.topics().items() if topic.isprintable()}


def join(ws: TestSocket, topic: str) -> None:
    ws.send_text(json.dumps({"topic": topic, "event": "join", "ref": "j"}))
    assert json.loads(ws.receive_text())["payload"]["status"] == "ok"


def ask(ws: TestSocket, topic: str, value: Any) -> Any:
    ws.send_text(
        json.dumps(
            {
                "topic": "room:me",
                "event": "publish",
                "ref": "p",
                "payload": {"topic": topic, "value": value},
            }
        )
    )
    reply = json.loads(ws.receive_text())
    assert reply["payload"]["status"] == "ok", reply
    return reply["payload"]["response"]


def test_hub_publish_refuses_with_nobody_subscribed(
    served: tuple[SocketHub, HubClient],
) -> None:
    hub, client = served
    with pytest.raises(EncodeError) as caught:
        client.call(hub.publish, "room:nobody", "said", UNSENDABLE)
    assert str(caught.value) == refusal("room:nobody", "said")
    assert isinstance(caught.value, TypeError)


def test_hub_publish_refuses_with_subscribers_and_reaches_nobody(
    served: tuple[SocketHub, HubClient],
) -> None:
    hub, client = served
    with client.connect("/ws") as ws:
        join(ws, "room:1")
        with pytest.raises(EncodeError) as caught:
            client.call(hub.publish, "room:1", "said", UNSENDABLE)
        assert str(caught.value) == refusal("room:1", "said")
        client.call(hub.publish, "room:1", "said", "next")
        assert json.loads(ws.receive_text()) == {
            "topic": "room:1",
            "event": "said",
            "payload": "next",
        }
        ws.assert_nothing_pending()
        assert client_topics(hub) == {"room:1": 1}


def test_sock_publish_refuses_alike_subscribed_or_not(
    served: tuple[SocketHub, HubClient],
) -> None:
    hub, client = served
    expected = {"raised": "EncodeError", "type_error": True}
    with client.connect("/ws") as sender, client.connect("/ws") as other:
        join(sender, "room:me")
        join(other, "room:1")
        assert ask(sender, "room:nobody", "unsendable") == {
            **expected,
            "message": refusal("room:nobody", "said"),
        }
        assert ask(sender, "room:1", "unsendable") == {
            **expected,
            "message": refusal("room:1", "said"),
        }
        assert ask(sender, "room:me", "unsendable") == {  # the sender's own topic
            **expected,
            "message": refusal("room:me", "said"),
        }
        assert ask(sender, "room:1", "after") == {"raised": None}
        assert json.loads(other.receive_text())["payload"] == "after"
        other.assert_nothing_pending()
        sender.assert_nothing_pending()
        assert client_topics(hub) == {"room:me": 1, "room:1": 1}


def test_a_datetime_payload_is_converted_on_every_bus(
    served: tuple[SocketHub, HubClient],
) -> None:
    hub, client = served
    moment = datetime.datetime(2025, 3, 1, 9, 30, tzinfo=datetime.UTC)
    with client.connect("/ws") as ws, client.connect("/ws?vsn=2.0.0") as px:
        join(ws, "room:1")
        px.send_text('["1","1","room:1","phx_join",{}]')
        assert json.loads(px.receive_text())[4]["status"] == "ok"
        client.call(hub.publish, "room:nobody", "said", {"at": moment})  # no error
        client.call(hub.publish, "room:1", "said", {"at": moment})
        assert ws.receive_text() == (
            '{"topic":"room:1","event":"said","payload":{"at":"2025-03-01T09:30:00+00:00"}}'
        )
        assert px.receive_text() == (
            '[null,null,"room:1","said",{"at":"2025-03-01T09:30:00+00:00"}]'
        )


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(
    ("topic", "event", "why"),
    [
        ("room:\ud800", "said", "a lone surrogate cannot be sent as UTF-8"),
        ("room:1", "said\udfff", "a lone surrogate cannot be sent as UTF-8"),
    ],
    ids=["topic", "event"],
)
async def test_a_topic_or_event_that_cannot_be_sent_is_refused_at_publish(
    codec: str, topic: str, event: str, why: str
) -> None:
    hub = SocketHub("/ws", codec=make(codec))
    with pytest.raises(EncodeError) as caught:
        await hub.publish(topic, event, 1)
    assert str(caught.value) == f"cannot publish to topic {topic!r} (event {event!r}): {why}"


@pytest.mark.parametrize("kind", BUSES)
async def test_the_bus_itself_refuses_at_publish_subscribers_or_not(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """Publishing on a bus directly follows the same rule as through a hub."""
    bus = make_bus(kind, request)
    await bus.start()
    try:
        got: list[Any] = []
        with pytest.raises(EncodeError, match="Object of type set"):
            await bus.publish("alone", "e", UNSENDABLE)
        await bus.subscribe("room", lambda message: got.append(message.payload))
        with pytest.raises(EncodeError, match="Object of type set"):
            await bus.publish("room", "e", UNSENDABLE)
        await bus.publish("room", "e", datetime.date(2025, 1, 2))
    finally:
        await bus.close()


@pytest.mark.parametrize("codec", CODECS)
async def test_what_crosses_redis_comes_back_exactly_with_either_codec(
    codec: str, request: pytest.FixtureRequest
) -> None:
    """Integers beyond 64 bits, nesting beyond orjson's depth: decoded as json would."""
    from sockethub.bus.redis import RedisSocketBus

    server: RedisServer = request.getfixturevalue("shared_redis")
    bus = RedisSocketBus(server.url, prefix=request.getfixturevalue("prefix"), codec=make(codec))
    await bus.start()
    try:
        got: list[Any] = []
        await bus.subscribe("room", lambda message: got.append(message.payload))
        value = {
            "big": 2**70,
            "neg": -(2**63) - 1,
            "f": [1e308, -0.0],
            "deep": json.loads("[" * 300 + "]" * 300),
        }
        await bus.publish("room", "e", value)
        await bus.publish("room", "e", "end")
        await eventually(lambda: got[-1:] == ["end"], what="the messages")
        assert repr(got[0]) == repr(value)
    finally:
        await bus.close()


def test_an_unsendable_publish_left_uncaught_is_a_callback_error(
    served: tuple[SocketHub, HubClient],
) -> None:
    """The client gets the generic error frame and keeps its connection and its join."""
    hub, client = served
    errors = hub.stats.callback_errors
    with client.connect("/ws") as ws:
        join(ws, "room:me")
        ws.send_text('{"topic":"room:me","event":"publish_uncaught","ref":"u"}')
        assert json.loads(ws.receive_text()) == {
            "code": 4500,
            "reason": "Internal error",
            "ref": "u",
        }
        assert ask(ws, "room:else", "still here") == {"raised": None}
        client.call(hub.publish, "room:me", "said", "still joined")
        assert json.loads(ws.receive_text())["payload"] == "still joined"
        ws.assert_nothing_pending()
    assert hub.stats.callback_errors == errors + 1


class Point:
    """A type only the app's own ``default`` knows how to send."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


def point_default(value: object) -> object:
    if isinstance(value, Point):
        return {"x": value.x, "y": value.y}
    return encode_default(value)


@pytest.mark.parametrize("bus_kind", BUSES)
def test_a_topic_with_history_encodes_with_the_hub_codec_and_refuses_alike(
    bus_kind: str, request: pytest.FixtureRequest
) -> None:
    """History topics go through the store, yet the payload is encoded once, by the hub's
    codec (its ``default`` included), and an unsendable one is refused at publish with the
    same message as any other topic, whether or not anybody joined."""
    hub = SocketHub("/ws", bus=make_bus(bus_kind, request), codec=JSONCodec(default=point_default))
    hub.channel("log:{id}", history=History(size=10, ttl=60))
    with HubClient(app_for(hub)) as client:
        with pytest.raises(EncodeError) as caught:
            client.call(hub.publish, "log:nobody", "said", UNSENDABLE)
        assert str(caught.value) == refusal("log:nobody", "said")
        client.call(hub.publish, "log:1", "said", Point(1, 2))
        epoch = client.call(hub.history, "log:1").position.epoch
        with client.connect("/ws") as ws:  # recovers the first one, then gets a live one
            ws.join("log:1", {"since": {"offset": 0, "epoch": epoch}})
            assert ws.receive_json()["payload"] == {"x": 1, "y": 2}
            client.call(hub.publish, "log:1", "said", Point(3, 4))
            assert ws.receive_json()["payload"] == {"x": 3, "y": 4}
            with pytest.raises(EncodeError) as caught:
                client.call(hub.publish, "log:1", "said", UNSENDABLE)
            assert str(caught.value) == refusal("log:1", "said")
            ws.assert_nothing_pending()
