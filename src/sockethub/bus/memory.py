"""InMemorySocketBus: the default bus, and the reference semantics for every backend."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..codec import DEFAULT_CODEC, Codec
from .base import BusCallback, BusMessage, MessageError, PubSubMessage, SocketBus, SubscriberGone

__all__ = ["BusObserver", "InMemorySocketBus"]

logger = logging.getLogger(__name__)


class BusObserver:
    """Instrumentation hooks; subclass and override what you need.

    Each hook is called synchronously, right after the bus changed.  They must be cheap
    and must not raise (an exception is logged and ignored).  A bus with no observer pays
    one ``is None`` test per operation.
    """

    def subscribed(self, topic: str, subscribers: int) -> None:
        """A callback joined ``topic``; ``subscribers`` is the new local count."""

    def unsubscribed(self, topic: str, subscribers: int) -> None:
        """A callback left ``topic`` (or was dropped); ``subscribers`` is what remains."""

    def published(self, topic: str, event: str, delivered: int) -> None:
        """A message was fanned out to ``delivered`` local callbacks."""


class InMemorySocketBus(SocketBus):
    """Fan-out inside one process.

    Subscriptions are held strongly, in insertion order, until ``unsubscribe`` or until a
    callback fails.  Weak references were rejected on purpose: the hub's per-socket
    callbacks are bound methods and partial-like objects that nothing else references, so
    a weakly held one would vanish at once and a live socket would silently stop
    receiving.  Instead the hub unsubscribes on every way a connection can end, and its
    callbacks raise once their socket is closed, so a dead socket is dropped at the latest
    by the next publish to its topic.

    Delivery is a plain loop: callbacks that return ``None`` (the hub's) cost one call
    each and never suspend, so every subscriber sees every publish in call order.  An
    awaitable result is awaited before the next subscriber is served; slow coroutine
    callbacks therefore delay the topic, which is why the hub queues per socket instead.

    Payloads must be what ``codec`` (default: the default codec) encodes, as on every
    bus: ``publish`` encodes the payload at once and raises
    :class:`~sockethub.EncodeError` for one that cannot be sent, subscribers or not
    (a hub publishes through :meth:`publish_message`, already encoded with its own codec).
    Subscribers receive the payload object as published.
    """

    def __init__(self, *, observer: BusObserver | None = None, codec: Codec | None = None) -> None:
        self._codec = DEFAULT_CODEC if codec is None else codec
        self._subs: dict[str, dict[BusCallback, None]] = {}
        # Snapshot per topic, rebuilt lazily on the first publish after a change, so that
        # joins cost O(1) and a publish iterates a tuple that nobody can mutate under it.
        self._snapshots: dict[str, tuple[BusCallback, ...]] = {}
        self._observer = observer
        self.dropped_subscribers = 0
        """Callbacks removed because they raised during delivery."""

    # -- the SocketBus protocol ---------------------------------------------------------

    async def subscribe(self, topic: str, callback: BusCallback) -> None:
        self.add(topic, callback)

    async def unsubscribe(self, topic: str, callback: BusCallback) -> None:
        self.remove(topic, callback)

    async def publish(
        self, topic: str, event: str, payload: Any, *, exclude: BusCallback | None = None
    ) -> None:
        await self.publish_message(
            BusMessage.encode(self._codec, topic, event, payload), exclude=exclude
        )

    async def publish_message(
        self, message: BusMessage, *, exclude: BusCallback | None = None
    ) -> None:
        if message.topic in self._subs:
            await self.deliver(message, exclude=exclude)
        elif self._observer is not None:
            self._notify(self._observer.published, message.topic, message.event, 0)

    # -- synchronous core, shared with backends that fan out locally (Redis) -------------

    def add(self, topic: str, callback: BusCallback) -> bool:
        """Subscribe without awaiting; return True if the topic had no subscriber before."""
        subs = self._subs.get(topic)
        first = subs is None
        if subs is None:
            subs = self._subs[topic] = {}
        elif callback in subs:
            return False
        subs[callback] = None
        self._snapshots.pop(topic, None)
        if self._observer is not None:
            self._notify(self._observer.subscribed, topic, len(subs))
        return first

    def remove(self, topic: str, callback: BusCallback) -> bool:
        """Unsubscribe without awaiting; return True if the topic now has no subscriber."""
        subs = self._subs.get(topic)
        if subs is None or subs.pop(callback, 0) is not None:
            return False
        self._snapshots.pop(topic, None)
        if not subs:
            del self._subs[topic]
        if self._observer is not None:
            self._notify(self._observer.unsubscribed, topic, len(subs))
        return not subs

    async def deliver(self, message: PubSubMessage, *, exclude: object = None) -> int:
        """Hand ``message`` to the local subscribers of its topic; return how many got it.

        ``exclude`` is a callback to skip (the publishing socket's own, for
        ``exclude_self``).
        """
        topic = message.topic
        snapshot = self._snapshots.get(topic)
        if snapshot is None:
            subs = self._subs.get(topic)
            if not subs:
                return 0
            snapshot = self._snapshots[topic] = tuple(subs)
        delivered = 0
        suspended = False
        for callback in snapshot:
            if callback is exclude:
                continue
            # Once a callback has suspended, others may have unsubscribed meanwhile.
            if suspended and callback not in self._subs.get(topic, ()):
                continue
            try:
                pending = callback(message)
                if pending is not None:
                    suspended = True
                    await pending
            except MessageError:
                raise
            except SubscriberGone:
                logger.debug("bus: dropping subscriber %r of topic %r: gone", callback, topic)
                self.dropped_subscribers += 1
                self.remove(topic, callback)
                continue
            except Exception:
                logger.warning(
                    "bus: dropping subscriber %r of topic %r: it raised during delivery",
                    callback,
                    topic,
                    exc_info=True,
                )
                self.dropped_subscribers += 1
                self.remove(topic, callback)
                continue
            delivered += 1
        if self._observer is not None:
            self._notify(self._observer.published, topic, message.event, delivered)
        return delivered

    # -- what an operator can read ------------------------------------------------------

    def subscriber_count(self, topic: str) -> int:
        """Live local subscriptions of ``topic``."""
        subs = self._subs.get(topic)
        return len(subs) if subs else 0

    def topics(self) -> dict[str, int]:
        """Every topic with at least one local subscriber, and how many it has."""
        return {topic: len(subs) for topic, subs in self._subs.items()}

    @property
    def subscription_count(self) -> int:
        """All live local subscriptions, over every topic."""
        return sum(len(subs) for subs in self._subs.values())

    async def close(self) -> None:
        """Forget every subscription."""
        self._subs.clear()
        self._snapshots.clear()

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _notify(hook: Callable[..., None], *args: Any) -> None:
        try:
            hook(*args)
        except Exception:
            logger.exception("bus observer hook %r raised", hook)
