"""The history contract: what a channel keeps, what a position is, what a store does.

A channel registered with ``history=History(size=..., ttl=...)`` keeps, per topic, a
stream of its latest publications.  Every publication to such a topic gets a
:class:`StreamPosition`: an ``offset`` that increases by one per publication, within an
``epoch`` (an opaque string) that changes whenever the stream's history could have been
lost (the store restarted without persistence, Redis was flushed, the topic sat idle past
``History.position_ttl``).  A client that saw position ``p`` can ask, when it joins
again, for every publication after ``p``; the store either has all of them
(*recovered*) or says it has not (the epoch changed, or the oldest publications it needed
were trimmed away), and the app reloads its state.

Stores (one per hub, chosen after its bus; every store passes the same contract suite):
:class:`~sockethub.history.memory.InMemoryHistory` (one process, the reference) and
:class:`~sockethub.history.redis.RedisHistory` (Redis Streams, shared by every process
and surviving their restarts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..bus.base import BusCallback, BusMessage
from ..errors import EncodeError

__all__ = [
    "History",
    "HistoryPage",
    "HistoryStore",
    "PositionedMessage",
    "Publication",
    "StreamPosition",
    "parse_position",
]

#: How long a topic's epoch and offset outlive its last publication, by default.
DEFAULT_POSITION_TTL = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class History:
    """What a channel's topics keep so that a rejoining client can catch up.

    * ``size``: the latest ``size`` publications of each topic are kept (older ones are
      trimmed as new ones arrive).  At least 1.
    * ``ttl``: seconds a publication stays recoverable.  A client away for longer than
      that (with publications missed) is told recovery failed.
    * ``position_ttl``: seconds a topic's epoch and offset are kept after its last
      publication (default 24 h, at least ``ttl``).  A client that missed nothing can
      "recover" an idle topic for that long; past it the topic starts a new epoch.

    Validated when created: ``History(size=0, ...)`` raises ``ValueError``.
    """

    size: int
    ttl: float
    position_ttl: float = DEFAULT_POSITION_TTL

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"History: size must be an int >= 1, got {self.size!r}")
        for name in ("ttl", "position_ttl"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"History: {name} must be a finite number > 0, got {value!r}")
        if self.position_ttl < self.ttl:
            raise ValueError(
                f"History: position_ttl ({self.position_ttl!r}) must be >= ttl ({self.ttl!r})"
            )


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """A place in a topic's stream: the ``offset`` of a publication within ``epoch``.

    Offset 0 is "before the first publication of this epoch".  On the wire it is
    ``{"offset": 17, "epoch": "3f9c..."}`` (see :func:`parse_position`).
    """

    offset: int
    epoch: str

    def as_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "epoch": self.epoch}


@dataclass(frozen=True, slots=True)
class Publication:
    """One stored publication of a topic: its offset, event and payload."""

    offset: int
    event: str
    payload: Any


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """What a store answers about a topic's stream.

    ``position`` is the stream's current top (the last publication's offset, or 0).
    ``publications`` are oldest first.  ``complete`` is True when they are *every*
    publication after the ``since`` asked for (same epoch, nothing trimmed in between;
    with a ``limit``, every one up to the last returned); False means the caller missed
    publications it cannot get back, and ``publications`` is then empty.
    """

    position: StreamPosition
    publications: list[Publication]
    complete: bool


class PositionedMessage(BusMessage):
    """A bus message of a topic with history: also carries its stream position."""

    __slots__ = ("epoch", "offset")

    def __init__(self, topic: str, event: str, payload: Any, offset: int, epoch: str) -> None:
        super().__init__(topic, event, payload)
        self.offset = offset
        self.epoch = epoch

    def __repr__(self) -> str:
        return (
            f"PositionedMessage(topic={self.topic!r}, event={self.event!r}, "
            f"offset={self.offset}, epoch={self.epoch!r})"
        )


@runtime_checkable
class HistoryStore(Protocol):
    """Where a hub keeps the streams of its topics with history.

    Contract (the in-memory store is the reference; every store passes the same suite):

    * ``publish`` stores the publication and fans it out on the store's bus as a
      :class:`PositionedMessage`, atomically: the offset live subscribers see is the
      offset stored, and subscribers of a topic see its offsets in increasing order.
      ``exclude`` is the bus's sender exclusion.  ``payload_json``, when given, is the
      payload as the hub's codec encoded it (stores that carry JSON use it as it is).
      It returns the new position.
    * ``read(topic, history, since=..., limit=...)`` returns the publications after
      ``since`` (all retained ones for ``since=None``), oldest first, at most ``limit``,
      with the current position; ``complete`` as :class:`HistoryPage` says.  Reading a
      topic that has no stream yet starts one (a new epoch, offset 0), so the position a
      joining client is given stays valid.
    """

    async def publish(
        self,
        topic: str,
        event: str,
        payload: Any,
        history: History,
        *,
        exclude: BusCallback | None = None,
        payload_json: str | None = None,
    ) -> StreamPosition: ...

    async def read(
        self,
        topic: str,
        history: History,
        *,
        since: StreamPosition | None = None,
        limit: int | None = None,
    ) -> HistoryPage: ...


def parse_position(value: Any) -> StreamPosition:
    """Read a client's ``{"offset": int >= 0, "epoch": str}``; ``ValueError`` says why not."""
    if not isinstance(value, dict):
        raise ValueError('"since" must be an object {"offset": int, "epoch": str}')
    offset = value.get("offset")
    epoch = value.get("epoch")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError('"since.offset" must be an integer >= 0')
    if not isinstance(epoch, str) or not epoch or len(epoch) > 64:
        raise ValueError('"since.epoch" must be a non-empty string of at most 64 characters')
    return StreamPosition(offset, epoch)


def select(
    entries: list[Publication],
    top: StreamPosition,
    since: StreamPosition | None,
    limit: int | None,
) -> HistoryPage:
    """The page of ``entries`` (the retained publications, oldest first) after ``since``.

    Shared by every store so that "complete" means the same everywhere.
    """
    if since is None:
        chosen = entries
        complete = True
    elif since.epoch != top.epoch or since.offset > top.offset:
        return HistoryPage(top, [], False)
    else:
        chosen = [p for p in entries if p.offset > since.offset]
        if since.offset == top.offset:
            complete = True
        else:
            complete = bool(chosen) and chosen[0].offset == since.offset + 1
        if not complete:
            return HistoryPage(top, [], False)
    if limit is not None:
        chosen = chosen[:limit]
    return HistoryPage(top, list(chosen), complete)


def check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"history: limit must be an int >= 0 or None, got {limit!r}")


def refuse_bytes(topic: str, payload: Any) -> None:
    """Raise :class:`~sockethub.EncodeError` for a bytes payload: a topic with history
    stores its payloads as JSON values."""
    if isinstance(payload, bytes | bytearray | memoryview):
        raise EncodeError(
            f"history: topic {topic!r} keeps history, so its payloads must be JSON "
            "values, not bytes"
        )
