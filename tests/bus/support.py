"""Helpers shared by the bus test modules (import as ``tests.bus.support``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from sockethub.bus import PubSubMessage, SocketBus


async def eventually(
    predicate: Callable[[], object], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout`` seconds.

    Delivery through Redis is asynchronous, so tests wait for the messages they expect.
    The deadline only bounds a broken run; it asserts nothing about speed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)


class Recorder:
    """A subscriber that records ``(topic, event, payload)`` of what it receives."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, Any]] = []

    def __call__(self, message: PubSubMessage) -> None:
        self.got.append((message.topic, message.event, message.payload))

    @property
    def payloads(self) -> list[Any]:
        return [payload for _, _, payload in self.got]


async def barrier(bus: SocketBus, topic: str, *witnesses: Recorder) -> None:
    """Publish a marker to ``topic`` and wait until every witness has received it.

    A bus delivers one topic's messages in one order to all its subscribers, so once the
    barrier has arrived anything published before it would have arrived too.
    """
    await bus.publish(topic, "barrier", "B")
    await eventually(
        lambda: all(w.got and w.got[-1] == (topic, "barrier", "B") for w in witnesses),
        what="the barrier message",
    )
