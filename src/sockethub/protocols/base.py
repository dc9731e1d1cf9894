"""The wire-protocol interface: how a hub session turns frames into messages and back.

A protocol object is stateless and shared by every connection that speaks it; the hub
picks one per connection (see ``SocketHub(protocol=...)``).  A protocol turns frames into
values (:meth:`WireProtocol.decode`, which also says what kind of message a frame is) and
values into frames (replies, errors, pushes, broadcasts, publications).  What a message
means (what a crash, a leave of a topic not joined or a heartbeat calls for) is decided by
the session's state machine, per the connection's failure model.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from typing import Any

from ..bus.base import PubSubMessage
from ..codec import DEFAULT_CODEC, Codec

__all__ = ["Inbound", "Kind", "WireProtocol"]


class Kind(enum.Enum):
    """What an inbound message is, as its protocol's frame says."""

    MESSAGE = "message"
    """A message for a channel's ``on_receive`` (or for a topic nobody joined)."""
    JOIN = "join"
    """A request to join the message's topic."""
    LEAVE = "leave"
    """A request to leave the message's topic."""
    HEARTBEAT = "heartbeat"
    """A keep-alive addressed to the connection itself (Phoenix's ``heartbeat``)."""


@dataclass(slots=True)
class Inbound:
    """One decoded inbound message."""

    topic: str
    event: str
    payload: Any = None
    ref: str | None = None
    """Request id chosen by the client; replies to this message carry it back."""
    join_ref: str | None = None
    """Phoenix only: the ref of the join this message belongs to."""
    kind: Kind = Kind.MESSAGE
    """What the message is (a join, a leave, a heartbeat, or a message for a channel)."""


class WireProtocol:
    """Base class of wire protocols.  Every ``encode_*`` returns one frame (or ``None``
    for "send nothing").  Subclasses override what differs; see ``EnvelopeProtocol``
    (0.1, the default) and ``PhoenixProtocol``.
    """

    name: str = "abstract"
    subprotocol: str | None = None
    """The ``Sec-WebSocket-Protocol`` to accept with, if the protocol needs one."""
    codec: Codec = DEFAULT_CODEC
    """Encodes and decodes the JSON of every frame (the hub's ``codec``, see
    :meth:`with_codec`)."""

    def with_codec(self, codec: Codec) -> WireProtocol:
        """This protocol speaking through ``codec``: itself if it already does, else a
        copy (the hub binds the protocols it serves to its codec this way)."""
        if codec is self.codec:
            return self
        bound = copy.copy(self)
        bound.codec = codec
        return bound

    def decode(self, frame: str | bytes) -> Inbound:
        """Decode one inbound frame, its :class:`Kind` included; raise
        :class:`~sockethub.errors.FrameError` if invalid."""
        raise NotImplementedError

    def broadcast(self, message: PubSubMessage) -> str | bytes:
        """Encode a bus message for every subscriber (called once per publish).

        A message published through a hub carries its payload already encoded
        (``message.payload_json``, see :class:`~sockethub.bus.BusMessage`): splice it in
        rather than encode the payload again."""
        raise NotImplementedError

    def publication(self, message: PubSubMessage) -> str | bytes:
        """Encode a publication of a topic with history: a broadcast that also carries
        the message's ``offset`` and ``epoch`` (see ``docs/history.md``)."""
        raise NotImplementedError

    def push(
        self, topic: str | None, event: str, payload: Any, join_ref: str | None
    ) -> str | bytes:
        """Encode a server push to one socket (``sock.reply`` / ``sock.emit``)."""
        raise NotImplementedError

    def reply(self, inbound: Inbound, status: str, response: Any) -> str | bytes | None:
        """Acknowledge ``inbound`` (join, leave, heartbeat, or a request's return value);
        ``None`` when the protocol acknowledges nothing without a ref."""
        raise NotImplementedError

    def error(self, code: int, reason: str, inbound: Inbound | None) -> str | bytes:
        """An error answering ``inbound`` (or a frame that could not be decoded)."""
        raise NotImplementedError

    def join_refused(self, inbound: Inbound, reason: str, response: Any) -> str | bytes:
        """The answer to a join that ``on_join`` refused with ``JoinRefused``."""
        raise NotImplementedError

    def request_failed(self, inbound: Inbound, reason: str, response: Any) -> str | bytes:
        """The answer to a message whose callback raised ``ReplyError``."""
        raise NotImplementedError

    def channel_crashed(self, inbound: Inbound, join_ref: str | None) -> str | bytes:
        """The frame telling the client that the channel of ``inbound``'s topic (joined
        as ``join_ref``) failed: a callback raised an unexpected exception."""
        raise NotImplementedError

    def left(self, topic: str, join_ref: str | None) -> str | bytes:
        """The frame telling the client that its channel of ``topic`` (joined as
        ``join_ref``) is closed (Phoenix's ``phx_close``)."""
        raise NotImplementedError
