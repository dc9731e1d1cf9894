"""Topic history and recovery on rejoin.

``hub.channel("room:{id}", history=History(size=100, ttl=300))`` keeps each room's latest
publications; every publication gets a :class:`StreamPosition`; a client that joins again
with the last position it saw receives what it missed before anything live.  See
``docs/history.md`` for the wire format and the guarantees.
"""

from .base import (
    History,
    HistoryPage,
    HistoryStore,
    PositionedMessage,
    Publication,
    StreamPosition,
    parse_position,
)
from .memory import InMemoryHistory

__all__ = [
    "History",
    "HistoryPage",
    "HistoryStore",
    "InMemoryHistory",
    "PositionedMessage",
    "Publication",
    "StreamPosition",
    "parse_position",
    "store_for",
]


def store_for(bus: object) -> HistoryStore:
    """The history store that goes with ``bus``: in memory for an ``InMemorySocketBus``,
    Redis Streams for a ``RedisSocketBus``.  Another bus needs an explicit
    ``SocketHub(history_store=...)``; ``TypeError`` says so."""
    from ..bus.memory import InMemorySocketBus

    if isinstance(bus, InMemorySocketBus):
        return InMemoryHistory(bus)
    try:
        from ..bus.redis import RedisSocketBus
    except ImportError:  # the redis extra is not installed
        RedisSocketBus = None  # type: ignore[assignment,misc]
    if RedisSocketBus is not None and isinstance(bus, RedisSocketBus):
        from .redis import RedisHistory

        return RedisHistory(bus)
    raise TypeError(
        f"no history store for a bus of type {type(bus).__name__}: pass "
        "SocketHub(history_store=...) (a sockethub.history.HistoryStore)"
    )
