"""The bus contract: what the hub needs from a pub/sub backend, and nothing else.

A bus fans messages out to *callbacks*; it knows nothing about sockets.  The hub turns a
joined socket into a callback (see :mod:`sockethub.hub`), so any backend that implements
:class:`SocketBus` works behind any hub.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from ..codec import Codec, utf8_safe
from ..errors import EncodeError

__all__ = [
    "BusCallback",
    "BusMessage",
    "BusUnavailable",
    "MessageError",
    "PubSubMessage",
    "SocketBus",
    "SubscriberGone",
]


class BusUnavailable(ConnectionError):
    """The bus cannot reach its broker, so a publish (or subscribe) was refused.

    Raised by backends that depend on a service (``RedisSocketBus`` when Redis is
    unreachable or the bus is reconnecting).  Nothing was queued and nothing will be
    retried.  A hub answers a message whose callback hit it with
    ``{"code": 4503, "reason": "Service unavailable"}`` and keeps the connection.
    """


class SubscriberGone(Exception):
    """Raised by a subscriber callback whose consumer is gone (the hub's, once its socket
    is closed).  The bus drops the callback, as for any exception, but quietly: this is
    how a closed connection leaves a topic between its close and its clean-up."""


class MessageError(EncodeError):
    """Raised by a subscriber callback when the *message* is at fault, not the subscriber
    (it cannot be encoded for that subscriber's wire protocol: a ``bytes`` payload, which
    only Phoenix connections can receive, for a 0.1 envelope connection).  The bus stops
    that fan-out and re-raises it to the publisher instead of dropping the subscriber.  An
    :class:`~sockethub.EncodeError`, hence a ``TypeError``; every other payload that cannot
    be encoded is refused with a plain ``EncodeError`` before any subscriber sees it."""


class PubSubMessage(Protocol):
    """What a subscriber callback receives: the envelope fields of one publish."""

    @property
    def topic(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def payload(self) -> Any: ...


#: A subscriber.  It is called once per message published to a topic it subscribed to.
#: A coroutine function is awaited; a plain function may return ``None`` (the hub's own
#: callbacks do, which keeps fan-out free of per-subscriber coroutines).  A callback that
#: raises is unsubscribed and logged; the exception never reaches the publisher.
BusCallback = Callable[[PubSubMessage], Awaitable[None] | None]


class BusMessage:
    """The message object backends hand to callbacks.

    ``payload_json`` is the payload's JSON text when the publisher encoded it
    (:meth:`encode`, at publish time), so that each wire protocol splices it into its
    frame instead of encoding the payload again.  It carries a per-message cache of
    encoded frames so that a publish is serialised once per wire protocol, not once per
    subscriber (:meth:`encoded`).  Backends may pass any object with
    ``topic``/``event``/``payload``; the hub then encodes per subscriber.
    """

    __slots__ = ("_frames", "event", "payload", "payload_json", "topic")

    def __init__(
        self, topic: str, event: str, payload: Any, payload_json: str | None = None
    ) -> None:
        self.topic = topic
        self.event = event
        self.payload = payload
        self.payload_json = payload_json
        self._frames: dict[object, str | bytes] | None = None

    @classmethod
    def encode(cls, codec: Codec, topic: str, event: str, payload: Any) -> BusMessage:
        """The message of a publish, its payload encoded by ``codec`` now.

        Raises :class:`~sockethub.EncodeError` (a ``TypeError``) when the payload is not
        strict JSON once converted (see :mod:`sockethub.codec`), or when ``topic`` or
        ``event`` is not a string that can be sent as UTF-8, whether or not anybody is
        subscribed.  A ``bytes`` payload is left as it is (Phoenix sends it as a binary
        frame; buses that carry only JSON refuse it).
        """
        if not isinstance(topic, str) or not isinstance(event, str):
            raise EncodeError(
                f"cannot publish: topic and event must be str, got {topic!r} and {event!r}"
            )
        if not (utf8_safe(topic) and utf8_safe(event)):
            raise EncodeError(
                f"cannot publish to topic {topic!r} (event {event!r}): a lone surrogate "
                "cannot be sent as UTF-8"
            )
        if isinstance(payload, bytes | bytearray | memoryview):
            return cls(topic, event, payload)
        try:
            payload_json = codec.encode(payload)
        except EncodeError as exc:
            raise EncodeError(
                f"cannot publish to topic {topic!r} (event {event!r}): {exc}"
            ) from exc
        return cls(topic, event, payload, payload_json)

    def encoded(self, key: object, encode: Callable[[BusMessage], str | bytes]) -> str | bytes:
        """Return ``encode(self)``, computed once per ``key`` for the life of the message."""
        frames = self._frames
        if frames is None:
            frames = self._frames = {}
        else:
            frame = frames.get(key)
            if frame is not None:
                return frame
        frame = frames[key] = encode(self)
        return frame

    def __repr__(self) -> str:
        return f"BusMessage(topic={self.topic!r}, event={self.event!r}, payload={self.payload!r})"


@runtime_checkable
class SocketBus(Protocol):
    """A topic-based pub/sub backend.

    Contract (the in-memory bus is the reference; every backend passes the same suite):

    * ``subscribe(topic, cb)`` registers ``cb`` for exact-string ``topic``; subscribing the
      same callback twice to one topic is a no-op.
    * ``unsubscribe(topic, cb)`` removes it; unknown pairs are ignored.  After it returns
      the callback receives nothing more from that topic.
    * ``publish(topic, event, payload, exclude=cb)`` delivers to every subscriber of
      ``topic`` except ``exclude``.  The payload is encoded first: one that cannot be
      sent raises :class:`~sockethub.EncodeError`, subscribers or not; otherwise a topic
      with no subscribers is a no-op.  Subscribers see messages of one publisher in publish order.  A failing subscriber is dropped and
      never disturbs the publisher or the other subscribers.
    * ``publish_message(message, exclude=cb)`` is ``publish`` for a message encoded at
      publish time (what the hub uses); ``topics()`` reports the topics with local
      subscribers and their counts.
    * ``start()`` / ``close()`` bracket the bus's life (connections, listener tasks).  Wire
      them to the app's lifespan (``SocketHub.lifespan`` does).  Subclasses of this
      protocol inherit no-op defaults.
    """

    async def subscribe(self, topic: str, callback: BusCallback) -> None: ...

    async def unsubscribe(self, topic: str, callback: BusCallback) -> None: ...

    async def publish(
        self, topic: str, event: str, payload: Any, *, exclude: BusCallback | None = None
    ) -> None: ...

    async def publish_message(
        self, message: BusMessage, *, exclude: BusCallback | None = None
    ) -> None:
        """Publish a message whose payload the publisher already encoded
        (:meth:`BusMessage.encode`).  The hub publishes this way, so a payload is encoded
        once per publish.  Default: ``publish(topic, event, payload, exclude=exclude)``."""
        await self.publish(message.topic, message.event, message.payload, exclude=exclude)

    def topics(self) -> dict[str, int]:
        """Every topic with at least one local subscriber, and how many it has (an
        operator's read-out).  Default: ``NotImplementedError``."""
        raise NotImplementedError(f"{type(self).__name__} does not report its topics")

    async def start(self) -> None:
        """Acquire resources.  Default: nothing to do."""
        return None

    async def close(self) -> None:
        """Release resources; subscriptions are forgotten.  Default: nothing to do."""
        return None
