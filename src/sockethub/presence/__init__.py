"""Presence: who is on a topic, Phoenix.Presence-compatible, in one process or across many.

* :class:`PresenceTracker` is ``hub.presence``: ``track`` / ``update`` / ``untrack`` /
  ``list`` / ``members``.  Sockets track through ``sock.track(key, meta)``.
* Stores: :class:`InMemoryPresence` (one process, the reference) and
  :class:`RedisPresence` (every process on one Redis; ``pip install sockethub[redis]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..bus.base import SocketBus
from .base import (
    AlreadyTracked,
    NotTracked,
    PresenceEntry,
    PresenceHost,
    PresenceStore,
    diff_payload,
    state_payload,
)
from .memory import InMemoryPresence
from .tracker import DIFF_EVENT, STATE_EVENT, PresenceTracker

if TYPE_CHECKING:
    from .redis import RedisPresence

__all__ = [
    "DIFF_EVENT",
    "STATE_EVENT",
    "AlreadyTracked",
    "InMemoryPresence",
    "NotTracked",
    "PresenceEntry",
    "PresenceHost",
    "PresenceStore",
    "PresenceTracker",
    "RedisPresence",
    "default_store",
    "diff_payload",
    "state_payload",
]


def default_store(bus: SocketBus) -> PresenceStore:
    """The store a hub uses when none is given: Redis on the Redis bus (same server,
    same prefix), else in memory."""
    try:
        from ..bus.redis import RedisSocketBus
    except ImportError:  # the redis extra is not installed
        return InMemoryPresence()
    if isinstance(bus, RedisSocketBus):
        from .redis import RedisPresence

        return RedisPresence.for_bus(bus)
    return InMemoryPresence()


def __getattr__(name: str) -> Any:
    if name == "RedisPresence":
        from .redis import RedisPresence

        return RedisPresence
    raise AttributeError(name)
