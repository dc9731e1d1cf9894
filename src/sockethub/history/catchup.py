"""The seam between recovered and live publications, for one joined topic.

A join of a topic with history goes: subscribe a :class:`Catchup` callback (it buffers
live messages), read the stream after the client's position, queue the join reply, the
recovered publications, then the buffered live ones that come after them, and from then
on deliver live messages straight away.  The last three steps run without suspending, so
nothing can slip between them; every message's offset is compared with the last one
sent, so a publication both read from the stream and received live is sent once.
"""

from __future__ import annotations

from typing import Any

from .. import codes
from ..bus.base import BusMessage, MessageError, PubSubMessage
from ..outbox import Outbox
from ..protocols.base import WireProtocol
from .base import HistoryPage, PositionedMessage, StreamPosition, parse_position

__all__ = ["Catchup", "JoinPositionError", "join_response", "requested_position"]

#: Where a client puts the last position it saw, in its join payload.
SINCE_FIELD = "since"
#: Where the join reply's response carries the recovery outcome and the position.
REPLY_FIELD = "history"


class JoinPositionError(ValueError):
    """The join payload's ``since`` is not a position; ``code``/``reason`` go to the client."""

    code = codes.BAD_FRAME

    @property
    def reason(self) -> str:
        return f"Malformed join: {self}"


def requested_position(payload: Any) -> StreamPosition | None:
    """The position a join asks to recover from: ``payload["since"]``, if present."""
    if not isinstance(payload, dict):
        return None
    value = payload.get(SINCE_FIELD)
    if value is None:
        return None
    try:
        return parse_position(value)
    except ValueError as exc:
        raise JoinPositionError(str(exc)) from None


def check_join_result(result: Any) -> None:
    """``on_join`` of a channel with history returns ``None`` or a dict (merged into the
    reply with the ``"history"`` key); anything else is the callback's error."""
    if result is None:
        return
    if not isinstance(result, dict):
        raise TypeError(
            "on_join of a channel with history must return None or a dict (the join "
            f"reply gets a {REPLY_FIELD!r} key), got {type(result).__name__}"
        )
    if REPLY_FIELD in result:
        raise TypeError(
            f"on_join of a channel with history returned a dict with a {REPLY_FIELD!r} key; "
            "that key is the join reply's recovery outcome"
        )


def join_response(result: Any, page: HistoryPage, since: StreamPosition | None) -> dict[str, Any]:
    """The join reply's response: ``on_join``'s dict plus ``{"history": {...}}``."""
    outcome = {
        "recovered": since is not None and page.complete,
        "was_recovering": since is not None,
        **page.position.as_json(),
    }
    return {**(result or {}), REPLY_FIELD: outcome}


_CACHE_KEYS: dict[WireProtocol, object] = {}


def _cache_key(protocol: WireProtocol) -> object:
    """The key of a protocol's positioned frame in a message's encode-once cache: one
    plain object per protocol (hashed by identity, unlike a tuple)."""
    key = _CACHE_KEYS.get(protocol)
    if key is None:
        key = _CACHE_KEYS[protocol] = object()
    return key


class Catchup:
    """The bus callback of one joined topic with history: buffer, then deliver in order.

    Like the plain subscriber it never awaits and raises :class:`OutboxClosed` once its
    socket is gone; it sends a topic's publications with their position
    (:meth:`WireProtocol.publication`); at the seam, each offset of an epoch at most once.
    """

    __slots__ = ("_buffer", "_encode", "_epoch", "_key", "_last", "_protocol", "_put")

    def __init__(self, outbox: Outbox, protocol: WireProtocol) -> None:
        self._put = outbox.put
        self._protocol = protocol
        self._encode = protocol.publication
        self._key = _cache_key(protocol)
        self._buffer: list[PubSubMessage] | None = []
        self._epoch: str | None = None
        self._last = 0

    def __call__(self, message: PubSubMessage) -> None:
        if type(message) is not PositionedMessage or self._buffer is not None:
            self._send(message)
            return
        # The hot path, once the catch-up is done: a topic's offsets arrive in increasing
        # order (the store's contract), so there is nothing left to compare.
        try:
            frame = message.encoded(self._key, self._encode)
        except Exception as exc:
            raise MessageError(f"cannot encode a message to {message.topic!r}: {exc}") from exc
        self._put(frame)

    def release(self, topic: str, page: HistoryPage, since: StreamPosition | None) -> int:
        """Queue the recovered publications, then the buffered live ones after them;
        deliver live from now on.  Call right after queueing the join reply, without
        suspending in between.  Returns how many publications were recovered.

        Raises :class:`OutboxClosed` if the socket went away meanwhile and
        :class:`MessageError` if a publication cannot be encoded; either way the callback
        delivers live from then on (nothing stays buffered).
        """
        position = page.position
        self._epoch = position.epoch
        buffer, self._buffer = self._buffer, None
        recovered = 0
        if since is None or not page.complete:
            self._last = position.offset
        else:
            self._last = since.offset
            encode, put, epoch = self._encode, self._put, position.epoch
            for publication in page.publications:
                if publication.offset <= self._last:
                    continue
                stored = PositionedMessage(
                    topic, publication.event, publication.payload, publication.offset, epoch
                )
                try:
                    frame = encode(stored)
                except Exception as exc:
                    raise MessageError(f"cannot encode a message to {topic!r}: {exc}") from exc
                put(frame)
                self._last = publication.offset
                recovered += 1
        for message in buffer or ():
            self._send(message)
        return recovered

    def _send(self, message: PubSubMessage) -> None:
        if self._buffer is not None:
            self._buffer.append(message)
            return
        offset = getattr(message, "offset", None)
        try:
            if offset is None:
                frame = self._protocol.broadcast(message)
            else:
                epoch = message.epoch  # type: ignore[attr-defined]
                if epoch == self._epoch and offset <= self._last:
                    return  # already sent (read from the stream and received live)
                self._epoch, self._last = epoch, offset
                if isinstance(message, BusMessage):
                    frame = message.encoded(self._key, self._encode)
                else:
                    frame = self._encode(message)
        except Exception as exc:
            raise MessageError(f"cannot encode a message to {message.topic!r}: {exc}") from exc
        self._put(frame)
