"""SocketHub <-> SocketBus wiring, over the test kit (on Starlette's TestClient).

What the hub promises about the bus: a socket is subscribed to a topic only
once ``on_join`` succeeded, and unsubscribed by a leave and by every way a connection can
end; ``sock.publish`` reaches every joined socket (the sender too, unless
``exclude_self``), ``hub.publish`` works from plain server code, a publish nobody hears
is a no-op; any ``SocketBus`` works behind a hub; the bus never keeps a dead socket's
callback alive nor drops a live one; a publish is encoded once, whatever the number of
subscribers; frames to one socket leave in the order they were produced.

Every test enters ``with HubClient(app)`` first, so all sockets share one event loop.
"Nothing else arrived" is the kit's round trip (``assert_nothing_pending``).  Leaving a
``client.connect`` block waits for the server's clean-up to finish.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sockethub import (
    BusObserver,
    InMemorySocketBus,
    ISocket,
    JoinRefused,
    PubSubMessage,
    SocketBus,
    SocketHub,
)
from sockethub.bus import BusCallback
from sockethub.control import node_topic
from sockethub.ids import node_id
from sockethub.protocols.envelope import EnvelopeProtocol
from sockethub.testing import HubClient
from tests.endings import ENDINGS, Ending

from .hub.helpers import TOPIC_NOT_FOUND


class RecordingBus(InMemorySocketBus):
    """The in-memory bus, keeping a weak reference to every callback it was given."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.refs: list[weakref.ref[BusCallback]] = []

    async def subscribe(self, topic: str, callback: BusCallback) -> None:
        self.refs.append(weakref.ref(callback))
        await super().subscribe(topic, callback)


class Observed(BusObserver):
    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    def subscribed(self, topic: str, subscribers: int) -> None:
        self.log.append(("subscribed", topic, subscribers))

    def unsubscribed(self, topic: str, subscribers: int) -> None:
        self.log.append(("unsubscribed", topic, subscribers))

    def published(self, topic: str, event: str, delivered: int) -> None:
        self.log.append(("published", topic, event, delivered))


class Room:
    """A hub with one channel, ``room:{id}``, whose callbacks exercise the bus."""

    def __init__(self, bus: SocketBus | None = None, **options: Any) -> None:
        self.bus = bus if bus is not None else RecordingBus()
        hub = self.hub = SocketHub("/ws", bus=self.bus, **options)
        room = hub.channel("room:{id}")
        self.seen_in_on_join: list[int] = []
        self.blocked = threading.Event()

        @room.on_join
        async def on_join(params: dict[str, str], sock: ISocket) -> None:
            bus = self.bus
            if isinstance(bus, InMemorySocketBus):
                self.seen_in_on_join.append(bus.subscriber_count(sock.topic or ""))
            payload = sock.message.payload
            if payload == "refuse":
                raise JoinRefused("Not you")
            if payload == "crash":
                raise RuntimeError("on_join fails")

        @room.on_receive("say")
        async def say(payload: Any, sock: ISocket) -> None:
            await sock.publish(payload, event="said")

        @room.on_receive("say_to_others")
        async def say_to_others(payload: Any, sock: ISocket) -> None:
            await sock.publish(payload, event="said", exclude_self=True)

        @room.on_receive("mixed")
        async def mixed(payload: Any, sock: ISocket) -> None:
            for i in range(payload):
                await sock.reply(i, event="r")
                await sock.publish(i, event="p")
                await sock.emit(i, event="e")

        @room.on_receive("close")
        async def close(payload: Any, sock: ISocket) -> None:
            await sock.close(4000, "Bye")

        @room.on_receive("boom")
        async def boom(payload: Any, sock: ISocket) -> None:
            raise RuntimeError("callback fails")

        @room.on_receive("block")
        async def block(payload: Any, sock: ISocket) -> None:
            self.blocked.set()
            await asyncio.Event().wait()

        async def notify(request: Request) -> Response:
            await hub.publish(request.path_params["topic"], "notice", await request.json())
            return Response(status_code=204)

        self.app = Starlette(
            routes=[hub, Route("/notify/{topic}", notify, methods=["POST"])],
            lifespan=hub.lifespan,
        )

    def topics(self) -> dict[str, int]:
        assert isinstance(self.bus, InMemorySocketBus)
        return self.bus.topics()


@pytest.fixture
def room() -> Room:
    return Room()


# -- subscribe after on_join, unsubscribe on leave ----------------------------------------


def test_the_socket_is_subscribed_only_after_on_join_succeeds(room: Room) -> None:
    with HubClient(room.app) as client, client.connect("/ws") as ws:
        ws.join("room:1")
        assert room.seen_in_on_join == [0]  # not yet subscribed while on_join ran
        assert room.topics() == {"room:1": 1}


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        ("refuse", '{"code":4403,"reason":"Not you"}'),
        ("crash", '{"code":4500,"reason":"Internal error"}'),
    ],
)
def test_a_refused_or_failed_join_leaves_no_subscription(
    room: Room, payload: str, answer: str
) -> None:
    with HubClient(room.app) as client, client.connect("/ws") as ws:
        ws.send("room:1", "join", payload)
        assert ws.receive_text() == answer
        assert room.topics() == {}
        assert isinstance(room.bus, RecordingBus)
        assert room.bus.refs == []  # subscribe was never called
        assert client.http.post("/notify/room:1", json="hello").status_code == 204
        ws.assert_nothing_pending()  # the publish did not reach it
        ws.send("room:1", "say", "x")  # and the topic is not joined
        assert ws.receive_text() == TOPIC_NOT_FOUND


def test_leave_unsubscribes_and_nothing_arrives_after_it(room: Room) -> None:
    with (
        HubClient(room.app) as client,
        client.connect("/ws") as a,
        client.connect("/ws") as b,
    ):
        a.join("room:1")
        b.join("room:1")
        assert room.topics() == {"room:1": 2}
        a.send("room:1", "leave")
        a.assert_nothing_pending()
        assert room.topics() == {"room:1": 1}
        client.http.post("/notify/room:1", json={"n": 1})
        b.expect("room:1", "notice", {"n": 1})
        a.assert_nothing_pending()
        b.send("room:1", "leave")
        b.assert_nothing_pending()
        assert room.topics() == {}


# -- every ending unsubscribes and frees the callback ----------------------------------


class _TracebackAsText(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return True


@pytest.fixture
def logs_not_kept() -> Iterator[None]:
    """Log tracebacks as text: a captured record of a callback error would otherwise hold
    the traceback, whose frames hold the session's callbacks, past the connection."""
    loggers = [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("sockethub")
    ]
    text = _TracebackAsText()
    for logger in loggers:
        logger.addFilter(text)
    yield
    for logger in loggers:
        logger.removeFilter(text)


@pytest.mark.usefixtures("logs_not_kept")
@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__)
def test_every_ending_unsubscribes_and_frees_the_callback_of_that_socket_only(
    ending: Ending,
) -> None:
    room = Room(error_policy="close")
    bus = room.bus
    assert isinstance(bus, RecordingBus)
    with HubClient(room.app) as client, client.connect("/ws") as stays:
        stays.join("room:1")
        with client.connect("/ws") as ws:
            ws.join("room:1")
            ws.join("room:2")
            assert room.topics() == {"room:1": 2, "room:2": 1}
            ending(room.blocked, ws)
        assert room.topics() == {"room:1": 1}
        assert bus.subscription_count == 1
        gc.collect()
        live = [ref for ref in bus.refs if ref() is not None]
        assert len(bus.refs) == 3
        assert len(live) == 1  # the ended socket's two callbacks are garbage
        # ... and the socket still connected still receives.
        client.http.post("/notify/room:1", json="still here")
        stays.expect("room:1", "notice", "still here")
    gc.collect()
    assert room.topics() == {}
    assert all(ref() is None for ref in bus.refs)


def test_a_lambda_or_partial_subscribed_directly_keeps_receiving(room: Room) -> None:
    """The bus holds what it is given strongly: a callback nobody else references lives
    until it is unsubscribed (weak references would have dropped it at once)."""
    got: list[tuple[str, Any]] = []

    def record(tag: str, message: PubSubMessage) -> None:
        got.append((tag, message.payload))

    async def subscribe() -> None:
        await room.bus.subscribe("room:1", lambda m: record("lambda", m))
        await room.bus.subscribe("room:1", functools.partial(record, "partial"))

    with HubClient(room.app) as client, client.connect("/ws") as ws:
        client.call(subscribe)  # type: ignore[union-attr]
        gc.collect()
        ws.join("room:1")
        ws.send("room:1", "say", 1)
        ws.expect("room:1", "said", 1)
        gc.collect()
        client.http.post("/notify/room:1", json=2)
        ws.expect("room:1", "notice", 2)
    assert got == [("lambda", 1), ("partial", 1), ("lambda", 2), ("partial", 2)]


# -- publishing -------------------------------------------------------------------------


def test_sock_publish_reaches_every_joined_socket_including_the_sender(room: Room) -> None:
    with (
        HubClient(room.app) as client,
        client.connect("/ws") as a,
        client.connect("/ws") as b,
        client.connect("/ws") as c,
        client.connect("/ws") as elsewhere,
    ):
        for ws in (a, b, c):
            ws.join("room:1")
        elsewhere.join("room:2")
        b.send("room:1", "say", {"text": "héllo"})
        for ws in (a, b, c):
            ws.expect("room:1", "said", {"text": "héllo"})
        elsewhere.assert_nothing_pending()


def test_exclude_self_leaves_only_the_sender_out(room: Room) -> None:
    with (
        HubClient(room.app) as client,
        client.connect("/ws") as a,
        client.connect("/ws") as b,
        client.connect("/ws") as c,
    ):
        for ws in (a, b, c):
            ws.join("room:1")
        a.send("room:1", "say_to_others", "hi")
        b.expect("room:1", "said", "hi")
        c.expect("room:1", "said", "hi")
        a.assert_nothing_pending()


def test_hub_publish_from_an_http_endpoint_reaches_the_joined_sockets(room: Room) -> None:
    with (
        HubClient(room.app) as client,
        client.connect("/ws") as a,
        client.connect("/ws") as b,
    ):
        a.join("room:1")
        b.join("room:2")
        assert client.http.post("/notify/room:1", json={"n": 1}).status_code == 204
        assert client.http.post("/notify/room:2", json={"n": 2}).status_code == 204
        a.expect("room:1", "notice", {"n": 1})
        b.expect("room:2", "notice", {"n": 2})
        a.assert_nothing_pending()
        b.assert_nothing_pending()


def test_publishing_to_a_topic_nobody_joined_is_a_no_op() -> None:
    observer = Observed()
    room = Room(bus=InMemorySocketBus(observer=observer))
    with HubClient(room.app) as client, client.connect("/ws") as ws:
        ws.join("room:1")
        assert client.http.post("/notify/room:404", json="nobody").status_code == 204
        ws.assert_nothing_pending()
        assert room.topics() == {"room:1": 1}
        assert room.hub.stats.callback_errors == 0
    assert ("published", "room:404", "notice", 0) in observer.log


# -- any SocketBus works behind a hub ------------------------------------------------------


@dataclass
class Note:
    """Not a BusMessage: the hub must encode it per subscriber."""

    topic: str
    event: str
    payload: Any


class TinyBus(SocketBus):
    """A complete backend in a dozen lines: only the protocol's three methods."""

    def __init__(self) -> None:
        self.subs: dict[str, list[BusCallback]] = {}

    async def subscribe(self, topic: str, callback: BusCallback) -> None:
        if callback not in self.subs.setdefault(topic, []):
            self.subs[topic].append(callback)

    async def unsubscribe(self, topic: str, callback: BusCallback) -> None:
        if callback in self.subs.get(topic, []):
            self.subs[topic].remove(callback)

    async def publish(
        self, topic: str, event: str, payload: Any, *, exclude: BusCallback | None = None
    ) -> None:
        for callback in list(self.subs.get(topic, [])):
            if callback is not exclude:
                try:
                    pending = callback(Note(topic, event, payload))
                    if pending is not None:
                        await pending
                except Exception:
                    await self.unsubscribe(topic, callback)


def test_a_custom_bus_works_behind_a_hub() -> None:
    bus = TinyBus()
    room = Room(bus=bus)
    with (
        HubClient(room.app) as client,
        client.connect("/ws") as a,
        client.connect("/ws") as b,
    ):
        a.join("room:1")
        b.join("room:1")
        assert len(bus.subs["room:1"]) == 2
        a.send("room:1", "say", 1)
        a.expect("room:1", "said", 1)
        b.expect("room:1", "said", 1)
        a.send("room:1", "say_to_others", 2)
        b.expect("room:1", "said", 2)
        a.assert_nothing_pending()
        client.http.post("/notify/room:1", json=3)
        a.expect("room:1", "notice", 3)
        b.expect("room:1", "notice", 3)
        a.send("room:1", "leave")
        a.assert_nothing_pending()
        assert len(bus.subs["room:1"]) == 1
    # A bus that is not the in-memory one may cross processes: the hub listened on its
    # node topic (commands by connection id) until its lifespan ended.
    assert bus.subs == {"room:1": [], node_topic(node_id()): []}


# -- instrumentation ----------------------------------------------------------------------


def test_observer_hooks_and_counters() -> None:
    observer = Observed()
    bus = InMemorySocketBus(observer=observer)
    room = Room(bus=bus)
    with HubClient(room.app) as client:
        with client.connect("/ws") as a, client.connect("/ws") as b:
            a.join("room:1")
            b.join("room:1")
            b.join("room:2")
            assert observer.log == [
                ("subscribed", "room:1", 1),
                ("subscribed", "room:1", 2),
                ("subscribed", "room:2", 1),
            ]
            assert bus.topics() == {"room:1": 2, "room:2": 1}
            assert bus.subscriber_count("room:1") == 2
            assert bus.subscriber_count("room:3") == 0
            assert bus.subscription_count == 3
            assert room.hub.stats.connections == 2
            assert room.hub.stats.total_connections == 2
            observer.log.clear()

            a.send("room:1", "say", "x")
            a.expect("room:1", "said", "x")
            b.expect("room:1", "said", "x")
            a.send("room:1", "say_to_others", "y")
            b.expect("room:1", "said", "y")
            assert observer.log == [
                ("published", "room:1", "said", 2),
                ("published", "room:1", "said", 1),
            ]
            observer.log.clear()

            a.send("room:1", "leave")
            a.assert_nothing_pending()
            assert observer.log == [("unsubscribed", "room:1", 1)]
            observer.log.clear()
        assert sorted(observer.log) == [
            ("unsubscribed", "room:1", 0),
            ("unsubscribed", "room:2", 0),
        ]
        assert bus.topics() == {}
        assert bus.subscription_count == 0
        assert room.hub.stats.connections == 0
        assert room.hub.stats.total_connections == 2
        assert room.hub.stats.slow_closes == 0


def test_a_raising_observer_is_logged_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(BusObserver):
        def subscribed(self, topic: str, subscribers: int) -> None:
            raise RuntimeError("observer fails")

    room = Room(bus=InMemorySocketBus(observer=Broken()))
    with HubClient(room.app) as client, client.connect("/ws") as ws:
        ws.join("room:1")
        assert room.topics() == {"room:1": 1}
        ws.send("room:1", "say", 1)
        ws.expect("room:1", "said", 1)
    assert any("observer" in r.getMessage() for r in caplog.records)


# -- encode once, keep order ----------------------------------------------------------------


class CountingProtocol(EnvelopeProtocol):
    def __init__(self) -> None:
        self.broadcasts = 0

    def broadcast(self, message: PubSubMessage) -> str:
        self.broadcasts += 1
        return super().broadcast(message)


def test_a_publish_is_encoded_once_whatever_the_number_of_subscribers() -> None:
    protocol = CountingProtocol()
    room = Room(protocol=protocol)
    with HubClient(room.app) as client:
        sockets = [client.connect("/ws").__enter__() for _ in range(8)]
        try:
            for ws in sockets:
                ws.join("room:1")
            sockets[0].send("room:1", "say", "once")
            for ws in sockets:
                ws.expect("room:1", "said", "once")
            assert protocol.broadcasts == 1
            client.http.post("/notify/room:1", json="twice")
            for ws in sockets:
                ws.expect("room:1", "notice", "twice")
            assert protocol.broadcasts == 2
        finally:
            for ws in sockets:
                ws.__exit__(None, None, None)


def test_frames_to_one_socket_leave_in_production_order(room: Room) -> None:
    """Direct replies and emits interleaved with publishes arrive exactly as produced."""
    n = 60
    with (
        HubClient(room.app) as client,
        client.connect("/ws") as sender,
        client.connect("/ws") as other,
    ):
        sender.join("room:1")
        other.join("room:1")
        sender.send("room:1", "mixed", n)
        got = [json.loads(sender.receive_text()) for _ in range(3 * n)]
        assert [(m["event"], m["payload"]) for m in got] == [
            (event, i) for i in range(n) for event in ("r", "p", "e")
        ]
        assert [json.loads(other.receive_text())["payload"] for _ in range(n)] == list(range(n))
        sender.assert_nothing_pending()
        other.assert_nothing_pending()
