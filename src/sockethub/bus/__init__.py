"""Pub/sub backends behind :class:`sockethub.SocketHub`.

``SocketBus`` is the protocol; ``InMemorySocketBus`` is the default backend and the
reference semantics; ``sockethub.bus.redis.RedisSocketBus`` (extra ``sockethub[redis]``)
spans processes.
"""

from .base import (
    BusCallback,
    BusMessage,
    BusUnavailable,
    MessageError,
    PubSubMessage,
    SocketBus,
    SubscriberGone,
)
from .memory import BusObserver, InMemorySocketBus

__all__ = [
    "BusCallback",
    "BusMessage",
    "BusObserver",
    "BusUnavailable",
    "InMemorySocketBus",
    "MessageError",
    "PubSubMessage",
    "SocketBus",
    "SubscriberGone",
]
