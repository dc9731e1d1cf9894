"""The SocketBus contract, run against every backend (``memory`` and ``redis``).

The in-memory bus is the reference.  Redis delivers asynchronously, so every test waits
for the messages it expects with :func:`~tests.bus.support.eventually`, and proves an *absence* with a
barrier: a later message to a subscriber that is still there.  A bus delivers one topic's
messages in one order to all its subscribers, so once the barrier has arrived anything
sent before it would have arrived too.
"""

from __future__ import annotations

import asyncio
import functools
import gc
from typing import Any

import pytest

from sockethub.bus import PubSubMessage, SocketBus
from tests.bus.support import Recorder, barrier, eventually


async def test_message_carries_topic_event_payload(bus: SocketBus) -> None:
    rec = Recorder()
    await bus.subscribe("room:1", rec)
    await bus.publish("room:1", "chat", {"text": "hi"})
    await eventually(lambda: rec.got, what="one message")
    assert rec.got == [("room:1", "chat", {"text": "hi"})]


async def test_order_within_a_topic(bus: SocketBus) -> None:
    a, b = Recorder(), Recorder()
    await bus.subscribe("t", a)
    await bus.subscribe("t", b)
    for i in range(300):
        await bus.publish("t", "n", i)
    await eventually(lambda: len(a.got) == 300 and len(b.got) == 300, what="300 messages")
    assert a.payloads == list(range(300))
    assert b.payloads == list(range(300))


async def test_topics_are_isolated(bus: SocketBus) -> None:
    x, y = Recorder(), Recorder()
    await bus.subscribe("x", x)
    await bus.subscribe("y", y)
    await bus.publish("x", "e", 1)
    await barrier(bus, "y", y)
    await barrier(bus, "x", x)
    assert x.payloads == [1, "B"]
    assert y.payloads == ["B"]


async def test_exclude_skips_only_that_callback(bus: SocketBus) -> None:
    sender, other, third = Recorder(), Recorder(), Recorder()
    for rec in (sender, other, third):
        await bus.subscribe("room", rec)
    await bus.publish("room", "msg", "from sender", exclude=sender)
    await barrier(bus, "room", sender, other, third)
    assert sender.payloads == ["B"]
    assert other.payloads == ["from sender", "B"]
    assert third.payloads == ["from sender", "B"]


async def test_exclude_of_a_non_subscriber_changes_nothing(bus: SocketBus) -> None:
    rec, stranger = Recorder(), Recorder()
    await bus.subscribe("room", rec)
    await bus.publish("room", "msg", 1, exclude=stranger)
    await barrier(bus, "room", rec)
    assert rec.payloads == [1, "B"]
    assert stranger.got == []


async def test_no_delivery_after_unsubscribe(bus: SocketBus) -> None:
    leaver, stayer = Recorder(), Recorder()
    await bus.subscribe("room", leaver)
    await bus.subscribe("room", stayer)
    await bus.publish("room", "e", 1)
    await eventually(lambda: leaver.got and stayer.got, what="first message")
    await bus.unsubscribe("room", leaver)
    await bus.publish("room", "e", 2)
    await barrier(bus, "room", stayer)
    assert leaver.payloads == [1]
    assert stayer.payloads == [1, 2, "B"]


async def test_unsubscribe_of_unknown_pairs_is_ignored(bus: SocketBus) -> None:
    rec = Recorder()
    await bus.unsubscribe("nobody", rec)
    await bus.subscribe("room", rec)
    await bus.unsubscribe("other", rec)
    await bus.unsubscribe("room", Recorder())
    await barrier(bus, "room", rec)
    assert rec.payloads == ["B"]


async def test_last_unsubscribe_then_resubscribe(bus: SocketBus) -> None:
    rec = Recorder()
    await bus.subscribe("room", rec)
    await bus.unsubscribe("room", rec)
    await bus.subscribe("room", rec)
    await bus.publish("room", "e", 1)
    await barrier(bus, "room", rec)
    assert rec.payloads == [1, "B"]


async def test_duplicate_subscribe_is_a_no_op(bus: SocketBus) -> None:
    rec = Recorder()
    await bus.subscribe("room", rec)
    await bus.subscribe("room", rec)
    await bus.publish("room", "e", 1)
    await barrier(bus, "room", rec)
    assert rec.payloads == [1, "B"]
    # One unsubscribe undoes the (single) subscription.
    await bus.unsubscribe("room", rec)
    witness = Recorder()
    await bus.subscribe("room", witness)
    await barrier(bus, "room", witness)
    assert rec.payloads == [1, "B"]


async def test_raising_subscriber_is_dropped_and_others_still_receive(bus: SocketBus) -> None:
    calls: list[Any] = []

    def broken(message: PubSubMessage) -> None:
        calls.append(message.payload)
        raise RuntimeError("send failed")

    before, after = Recorder(), Recorder()
    await bus.subscribe("room", before)
    await bus.subscribe("room", broken)
    await bus.subscribe("room", after)
    await bus.publish("room", "e", 1)  # must not raise into the publisher
    await eventually(lambda: before.got and after.got, what="first message")
    await bus.publish("room", "e", 2)
    await barrier(bus, "room", before, after)
    assert calls == [1]
    assert before.payloads == after.payloads == [1, 2, "B"]
    assert bus.dropped_subscribers == 1  # type: ignore[attr-defined]


async def test_raising_async_subscriber_is_dropped(bus: SocketBus) -> None:
    calls: list[Any] = []

    async def broken(message: PubSubMessage) -> None:
        calls.append(message.payload)
        await asyncio.sleep(0)
        raise ConnectionResetError("peer went away")

    rec = Recorder()
    await bus.subscribe("room", broken)
    await bus.subscribe("room", rec)
    await bus.publish("room", "e", 1)
    await bus.publish("room", "e", 2)
    await barrier(bus, "room", rec)
    assert calls == [1]
    assert rec.payloads == [1, 2, "B"]


async def test_concurrent_publishers(bus: SocketBus) -> None:
    publishers, per_publisher = 8, 50
    subscribers = [Recorder() for _ in range(4)]
    for rec in subscribers:
        await bus.subscribe("room", rec)

    async def publisher(p: int) -> None:
        for i in range(per_publisher):
            await bus.publish("room", "e", [p, i])
            if i % 7 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(publisher(p) for p in range(publishers)))
    total = publishers * per_publisher
    await eventually(
        lambda: all(len(rec.got) == total for rec in subscribers), what=f"{total} messages"
    )
    for rec in subscribers:
        for p in range(publishers):
            assert [i for q, i in rec.payloads if q == p] == list(range(per_publisher))
    # One bus, one topic: every subscriber sees the same interleaving.
    assert all(rec.payloads == subscribers[0].payloads for rec in subscribers)


async def test_publish_to_a_topic_without_subscribers_is_a_no_op(bus: SocketBus) -> None:
    await bus.publish("empty", "e", "lost")
    rec = Recorder()
    await bus.subscribe("empty", rec)
    await bus.publish("empty", "e", "kept")
    await barrier(bus, "empty", rec)
    assert rec.payloads == ["kept", "B"]


async def test_sync_and_async_callbacks(bus: SocketBus) -> None:
    sync_got: list[Any] = []
    async_got: list[Any] = []

    def sync_cb(message: PubSubMessage) -> None:
        sync_got.append(message.payload)

    async def async_cb(message: PubSubMessage) -> None:
        await asyncio.sleep(0)
        async_got.append(message.payload)

    await bus.subscribe("room", sync_cb)
    await bus.subscribe("room", async_cb)
    for i in range(5):
        await bus.publish("room", "e", i)
    await eventually(lambda: len(sync_got) == 5 and len(async_got) == 5, what="5 messages")
    assert sync_got == async_got == [0, 1, 2, 3, 4]


def _append_to(box: list[Any], message: PubSubMessage) -> None:
    box.append(message.payload)


class _Sink:
    def __init__(self, box: list[Any]) -> None:
        self.box = box

    def on_message(self, message: PubSubMessage) -> None:
        self.box.append(message.payload)


async def test_callbacks_are_held_strongly(bus: SocketBus) -> None:
    """Lambdas, partials, closures and bound methods nobody else references keep working."""
    boxes: dict[str, list[Any]] = {k: [] for k in ("lambda", "partial", "closure", "method")}

    def make_closure(box: list[Any]) -> Any:
        def closure(message: PubSubMessage) -> None:
            box.append(message.payload)

        return closure

    await bus.subscribe("room", lambda m, box=boxes["lambda"]: box.append(m.payload))
    await bus.subscribe("room", functools.partial(_append_to, boxes["partial"]))
    await bus.subscribe("room", make_closure(boxes["closure"]))
    await bus.subscribe("room", _Sink(boxes["method"]).on_message)
    gc.collect()
    await bus.publish("room", "e", 1)
    await eventually(lambda: all(box == [1] for box in boxes.values()), what="all four")


@pytest.mark.parametrize(
    "payload",
    [
        None,
        True,
        False,
        0,
        -7,
        2**53,
        3.25,
        "",
        "plain",
        "ünïcødé ✓ 漢字 🚀",
        [],
        {},
        [1, "two", None, [3.5, {"k": False}]],
        {"nested": {"list": [1, 2, {"deep": ["x"]}], "empty": {}, "null": None}},
    ],
    ids=repr,
)
async def test_json_payloads_round_trip(bus: SocketBus, payload: Any) -> None:
    rec = Recorder()
    await bus.subscribe("room", rec)
    await bus.publish("room", "data", payload)
    await eventually(lambda: rec.got, what="the payload")
    assert rec.got == [("room", "data", payload)]


@pytest.mark.parametrize("topic", ["комната:42", "部屋/1 🚀", "a b\tc", "", "x" * 300])
async def test_unicode_and_odd_topics(bus: SocketBus, topic: str) -> None:
    rec, other = Recorder(), Recorder()
    await bus.subscribe(topic, rec)
    await bus.subscribe(topic + "-other", other)
    await bus.publish(topic, "ünï", "ok")
    await barrier(bus, topic + "-other", other)
    await eventually(lambda: rec.got, what="the message")
    assert rec.got == [(topic, "ünï", "ok")]
    assert other.payloads == ["B"]


async def test_a_subscriber_removed_during_a_fan_out_gets_nothing_more() -> None:
    """A callback that suspends and unsubscribes a later one mid-delivery: the removed
    one is skipped for this very message, the others still get it, nothing raises."""
    from sockethub.bus import InMemorySocketBus

    bus = InMemorySocketBus()
    await bus.start()
    got: list[str] = []

    def second(message: PubSubMessage) -> None:
        got.append(f"second {message.payload}")

    def third(message: PubSubMessage) -> None:
        got.append(f"third {message.payload}")

    def first(message: PubSubMessage) -> Any:
        got.append(f"first {message.payload}")

        async def drop_second() -> None:
            await bus.unsubscribe("t", second)

        return drop_second() if message.payload == 1 else None

    for callback in (first, second, third):
        await bus.subscribe("t", callback)
    await bus.publish("t", "e", 1)
    await bus.publish("t", "e", 2)
    await bus.close()
    assert got == ["first 1", "third 1", "first 2", "third 2"]
