"""InMemoryHistory: the streams of one process, and the reference semantics for stores."""

from __future__ import annotations

import collections
import os
import time
from typing import Any

from ..bus.base import BusCallback, MessageError
from ..bus.memory import InMemorySocketBus
from .base import (
    History,
    HistoryPage,
    HistoryStore,
    PositionedMessage,
    Publication,
    StreamPosition,
    check_limit,
    refuse_bytes,
    select,
)

__all__ = ["InMemoryHistory"]


class _Stream:
    __slots__ = ("entries", "epoch", "last_used", "position_ttl", "top")

    def __init__(self, size: int, position_ttl: float) -> None:
        self.position_ttl = position_ttl
        self.epoch = os.urandom(6).hex()
        self.top = 0
        # (offset, stored at, event, payload), oldest first; bounded by the history size.
        self.entries: collections.deque[tuple[int, float, str, Any]] = collections.deque(
            maxlen=size
        )
        self.last_used = time.monotonic()


class InMemoryHistory(HistoryStore):
    """Streams held in this process, published through an :class:`InMemorySocketBus`.

    Each topic's stream is created on its first publication or read, with a random epoch,
    so a restarted process starts every topic in a new epoch: clients that come back
    after a restart are told recovery failed, never handed a stream that is not theirs.
    A stream keeps its latest ``History.size`` publications; each is served for
    ``History.ttl`` seconds; a stream untouched for ``History.position_ttl`` seconds is
    forgotten (it would restart in a new epoch).  Expiry is lazy: a publication or read
    of a topic drops what expired, and every publication sweeps at most a few idle
    streams, so memory stays bounded by the topics in use.

    Publishing never suspends between assigning the offset and handing the message to
    the bus, so subscribers see a topic's offsets in increasing order.
    """

    def __init__(self, bus: InMemorySocketBus) -> None:
        self._bus = bus
        self._streams: dict[str, _Stream] = {}
        # Streams in least-recently-used order, for the idle sweep.
        self._order: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._swept = time.monotonic()

    async def publish(
        self,
        topic: str,
        event: str,
        payload: Any,
        history: History,
        *,
        exclude: BusCallback | None = None,
        payload_json: str | None = None,
    ) -> StreamPosition:
        refuse_bytes(topic, payload)
        now = time.monotonic()
        if now - self._swept > 1.0:
            self._sweep(now)
        stream = self._stream(topic, history, now)
        stream.top += 1
        offset = stream.top
        entry = (offset, now, event, payload)
        stream.entries.append(entry)
        try:
            await self._bus.deliver(
                PositionedMessage(topic, event, payload, offset, stream.epoch), exclude=exclude
            )
        except MessageError:
            # Nobody could be sent it (its payload cannot be encoded): not stored either,
            # unless something was published after it meanwhile.
            if stream.top == offset and stream.entries and stream.entries[-1] is entry:
                stream.entries.pop()
                stream.top -= 1
            raise
        return StreamPosition(offset, stream.epoch)

    async def read(
        self,
        topic: str,
        history: History,
        *,
        since: StreamPosition | None = None,
        limit: int | None = None,
    ) -> HistoryPage:
        check_limit(limit)
        now = time.monotonic()
        stream = self._stream(topic, history, now)
        cutoff = now - history.ttl
        entries = [
            Publication(offset, event, payload)
            for offset, stored, event, payload in stream.entries
            if stored >= cutoff
        ]
        return select(entries, StreamPosition(stream.top, stream.epoch), since, limit)

    @property
    def topics(self) -> int:
        """Streams held now."""
        return len(self._streams)

    def clear(self) -> None:
        """Forget every stream (what a restart does): every topic starts a new epoch."""
        self._streams.clear()
        self._order.clear()

    # -- internals ------------------------------------------------------------------------

    def _stream(self, topic: str, history: History, now: float) -> _Stream:
        stream = self._streams.get(topic)
        if stream is not None and now - stream.last_used > history.position_ttl:
            stream = None  # idle too long: forgotten, as the Redis keys would expire
        if stream is None or stream.entries.maxlen != history.size:
            fresh = _Stream(history.size, history.position_ttl)
            if stream is not None:
                # The size changed (a redeploy): keep the stream, re-bounded.
                fresh.epoch, fresh.top = stream.epoch, stream.top
                fresh.entries.extend(stream.entries)
            stream = self._streams[topic] = fresh
            self._order[topic] = None
        entries = stream.entries
        if entries and entries[0][1] < now - history.ttl:
            cutoff = now - history.ttl
            while entries and entries[0][1] < cutoff:
                entries.popleft()
        stream.last_used = now
        self._order.move_to_end(topic)
        return stream

    def _sweep(self, now: float, budget: int = 64) -> None:
        """Forget streams idle past their ``position_ttl``, least recently used first."""
        self._swept = now
        order = self._order
        streams = self._streams
        while budget and order:
            topic = next(iter(order))
            stream = streams.get(topic)
            if stream is not None and now - stream.last_used <= stream.position_ttl:
                return
            del order[topic]
            streams.pop(topic, None)
            budget -= 1
