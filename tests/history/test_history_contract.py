"""The history-store contract, run against every store (memory, and Redis on a real
redis-server): positions, reads, trimming, expiry, epochs, atomic publish + store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sockethub import EncodeError
from sockethub.bus.base import PubSubMessage
from sockethub.history import History, PositionedMessage, StreamPosition
from tests.bus.support import eventually

from .conftest import Backend

H = History(size=50, ttl=60)


class Recorder:
    """A bus subscriber that keeps (offset, epoch, event, payload) of what it gets."""

    def __init__(self) -> None:
        self.got: list[tuple[int, str, str, Any]] = []

    def __call__(self, message: PubSubMessage) -> None:
        assert isinstance(message, PositionedMessage), message
        self.got.append((message.offset, message.epoch, message.event, message.payload))


async def test_offsets_count_up_within_one_epoch_and_live_matches_stored(
    backend: Backend,
) -> None:
    rec = Recorder()
    await backend.bus.subscribe("room", rec)
    positions = [await backend.store.publish("room", "msg", {"n": i}, H) for i in range(5)]
    assert [p.offset for p in positions] == [1, 2, 3, 4, 5]
    assert len({p.epoch for p in positions}) == 1
    epoch = positions[0].epoch
    await eventually(lambda: len(rec.got) == 5, what="5 live messages")
    assert rec.got == [(i + 1, epoch, "msg", {"n": i}) for i in range(5)]
    page = await backend.store.read("room", H)
    assert page.position == StreamPosition(5, epoch)
    assert page.complete
    assert [(p.offset, p.event, p.payload) for p in page.publications] == [
        (i + 1, "msg", {"n": i}) for i in range(5)
    ]


async def test_read_since_a_position_returns_what_came_after_it(backend: Backend) -> None:
    for i in range(10):
        top = await backend.store.publish("t", "e", i, H)
    page = await backend.store.read("t", H, since=StreamPosition(6, top.epoch))
    assert page.complete and [p.payload for p in page.publications] == [6, 7, 8, 9]
    page = await backend.store.read("t", H, since=StreamPosition(6, top.epoch), limit=2)
    assert page.complete and [p.offset for p in page.publications] == [7, 8]
    assert page.position == top
    caught_up = await backend.store.read("t", H, since=top)
    assert caught_up.complete and caught_up.publications == []


async def test_a_position_from_another_epoch_or_the_future_is_not_recoverable(
    backend: Backend,
) -> None:
    top = await backend.store.publish("t", "e", 1, H)
    other = await backend.store.read("t", H, since=StreamPosition(0, "not-" + top.epoch))
    assert not other.complete and other.publications == []
    future = await backend.store.read("t", H, since=StreamPosition(2, top.epoch))
    assert not future.complete and future.position == top


async def test_history_is_trimmed_to_its_size(backend: Backend) -> None:
    small = History(size=3, ttl=60)
    for i in range(8):
        top = await backend.store.publish("t", "e", i, small)
    page = await backend.store.read("t", small)
    assert [p.offset for p in page.publications] == [6, 7, 8]
    assert page.complete  # since=None: everything that is kept
    gone = await backend.store.read("t", small, since=StreamPosition(4, top.epoch))
    assert not gone.complete and gone.publications == []
    kept = await backend.store.read("t", small, since=StreamPosition(5, top.epoch))
    assert kept.complete and [p.offset for p in kept.publications] == [6, 7, 8]


async def test_publications_older_than_the_ttl_are_not_served(backend: Backend) -> None:
    short = History(size=10, ttl=0.3)
    first = await backend.store.publish("t", "e", "old", short)
    await asyncio.sleep(0.5)
    await backend.store.publish("t", "e", "new", short)
    page = await backend.store.read("t", short)
    assert [p.payload for p in page.publications] == ["new"]
    missed = await backend.store.read("t", short, since=StreamPosition(0, first.epoch))
    assert not missed.complete
    assert (await backend.store.read("t", short, since=first)).complete


async def test_a_topic_read_before_any_publication_keeps_its_epoch(backend: Backend) -> None:
    start = await backend.store.read("fresh", H)
    assert start.position.offset == 0 and start.complete and start.publications == []
    again = await backend.store.read("fresh", H)
    assert again.position == start.position
    first = await backend.store.publish("fresh", "e", 1, H)
    assert first == StreamPosition(1, start.position.epoch)
    page = await backend.store.read("fresh", H, since=start.position)
    assert page.complete and [p.payload for p in page.publications] == [1]


async def test_losing_the_data_starts_a_new_epoch(backend: Backend) -> None:
    before = await backend.store.publish("t", "e", 1, H)
    await backend.lose_everything()
    page = await backend.store.read("t", H, since=before)
    assert not page.complete
    assert page.position.epoch != before.epoch
    assert page.position.offset == 0
    after = await backend.store.publish("t", "e", 2, H)
    assert after == StreamPosition(1, page.position.epoch)


async def test_the_sender_exclusion_applies_to_publications_with_history(
    backend: Backend,
) -> None:
    sender, other = Recorder(), Recorder()
    await backend.bus.subscribe("t", sender)
    await backend.bus.subscribe("t", other)
    await backend.store.publish("t", "e", "not to the sender", H, exclude=sender)
    await backend.store.publish("t", "e", "to all", H)
    await eventually(lambda: len(other.got) == 2 and len(sender.got) == 1, what="fan-out")
    assert [g[3] for g in sender.got] == ["to all"]
    assert [g[0] for g in other.got] == [1, 2]


async def test_payloads_that_cannot_be_json_are_refused_and_not_stored(
    backend: Backend,
) -> None:
    await backend.store.publish("t", "e", "ok", H)
    with pytest.raises(EncodeError):
        await backend.store.publish("t", "e", b"raw bytes", H)
    page = await backend.store.read("t", H)
    assert [p.payload for p in page.publications] == ["ok"]
    assert page.position.offset == 1


async def test_subscribers_in_order_see_increasing_offsets_under_concurrent_publishers(
    backend: Backend,
) -> None:
    rec = Recorder()
    await backend.bus.subscribe("t", rec)

    async def publisher(name: str) -> None:
        for i in range(40):
            await backend.store.publish("t", name, i, H)

    await asyncio.gather(*(publisher(f"p{k}") for k in range(4)))
    await eventually(lambda: len(rec.got) == 160, what="160 messages")
    assert [g[0] for g in rec.got] == list(range(1, 161))
    page = await backend.store.read("t", History(size=50, ttl=60))
    assert [p.offset for p in page.publications] == list(range(111, 161))


def test_history_settings_are_validated() -> None:
    for bad in (
        {"size": 0, "ttl": 1},
        {"size": 1.5, "ttl": 1},
        {"size": True, "ttl": 1},
        {"size": 1, "ttl": 0},
        {"size": 1, "ttl": float("inf")},
        {"size": 1, "ttl": 10, "position_ttl": 5},
    ):
        with pytest.raises(ValueError, match="History"):
            History(**bad)  # type: ignore[arg-type]


async def test_a_topic_idle_past_its_position_ttl_starts_a_new_epoch(backend: Backend) -> None:
    brief = History(size=10, ttl=0.2, position_ttl=0.4)
    kept = History(size=10, ttl=0.2, position_ttl=60)
    old = await backend.store.publish("idle", "e", 1, brief)
    other = await backend.store.publish("busy", "e", 1, kept)
    await asyncio.sleep(0.7)
    page = await backend.store.read("idle", brief, since=old)
    assert not page.complete and page.position.epoch != old.epoch
    assert page.position.offset == 0
    # Within its position_ttl a caught-up client still recovers (nothing missed), even
    # though the publications themselves expired.
    same = await backend.store.read("busy", kept, since=other)
    assert same.complete and same.position == other
