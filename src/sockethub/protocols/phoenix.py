"""PhoenixProtocol: the Phoenix Channels V2 wire format, as the npm ``phoenix`` client speaks it.

Text frames are JSON arrays ``[join_ref, ref, topic, event, payload]``; binary frames use
Phoenix's binary serializer (a payload that is ``bytes`` travels raw).  The mapping onto a
hub session:

===============================  =============================================================
client sends                     server answers
===============================  =============================================================
``phx_join`` (join params)       ``phx_reply`` ``{"status": "ok", "response": {}}``, or
                                 ``{"status": "error", "response": {"reason": ...}}`` when
                                 ``on_join`` raised :class:`~sockethub.JoinRefused` (or
                                 ``{"reason": "join crashed"}`` when it failed)
a push with a ``ref``            ``phx_reply`` with the same ``join_ref`` and ``ref``: ``ok``
                                 with the callback's return value (``{}`` for ``None``), or
                                 ``error`` with :class:`~sockethub.ReplyError`'s response
``phx_leave``                    ``phx_reply`` ok, then ``phx_close``
``heartbeat`` on ``phoenix``     ``phx_reply`` ok at once
a message for a stale join_ref   nothing (ignored)
===============================  =============================================================

The answers are the session's, by Phoenix's failure model (:mod:`sockethub.failure`); this
module only decodes frames (with their :class:`~sockethub.protocols.base.Kind`) and encodes.
Server pushes (``sock.reply`` / ``sock.emit``) carry the topic's ``join_ref``; broadcasts
carry none (``[null, null, topic, event, payload]``) and are encoded once per publish.  A
callback that crashes sends ``phx_error`` for the topic, so phoenix.js rejoins; the rejoin
(a new ``join_ref``) replaces the old join.  Connections idle for 60 s are closed (the
failure model's rule; override with ``HubLimits(idle_timeout=...)``); phoenix.js's
heartbeat (every 30 s) keeps a live client open.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from typing import Any, Final

from .. import codes
from ..bus.base import PubSubMessage
from ..codec import json_string
from ..errors import FrameError
from .base import Inbound, Kind, WireProtocol

__all__ = ["AUTH_TOKEN_PREFIX", "VSN", "PhoenixProtocol", "auth_token_from_subprotocols"]

VSN: Final = "2.0.0"
"""The ``vsn`` query parameter value phoenix.js sends for this serializer."""

AUTH_TOKEN_PREFIX: Final = "base64url.bearer.phx."
"""Prefix of the subprotocol that carries phoenix.js's ``authToken``."""

logger = logging.getLogger(__name__)

_PUSH: Final = 0
_REPLY: Final = 1
_BROADCAST: Final = 2
_BAD: Final = codes.BAD_FRAME
_SYSTEM_TOPIC: Final = "phoenix"
"""The topic phoenix.js sends heartbeats on; no channel is ever joined there."""
_KINDS: Final = {"phx_join": Kind.JOIN, "phx_leave": Kind.LEAVE}


def auth_token_from_subprotocols(subprotocols: Iterable[str]) -> str | None:
    """The token phoenix.js's ``authToken`` option sends, or ``None``.

    phoenix.js offers ``["phoenix", "base64url.bearer.phx." + btoa(token)]`` (padding
    stripped) as ``Sec-WebSocket-Protocol``.  Both base64 alphabets are accepted; an
    undecodable token counts as absent.  The token is returned as the client's string
    (``btoa`` works on Latin-1 strings, so the bytes are decoded as Latin-1).
    """
    for offered in subprotocols:
        if not offered.startswith(AUTH_TOKEN_PREFIX):
            continue
        encoded = offered[len(AUTH_TOKEN_PREFIX) :].strip()
        encoded += "=" * (-len(encoded) % 4)
        try:
            raw = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw.decode("latin-1")
    return None


def _ref(value: Any, name: str, ref: str | None = None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise FrameError(_BAD, f"Malformed frame: {name} must be a string or null", ref=ref)


def _is_binary(value: Any) -> bool:
    return isinstance(value, bytes | bytearray | memoryview)


def _field(value: str | None, name: str) -> bytes:
    data = (value or "").encode("utf-8")
    if len(data) > 255:
        raise ValueError(f"Phoenix binary frames limit {name} to 255 bytes, got {len(data)}")
    return data


class PhoenixProtocol(WireProtocol):
    """Phoenix Channels V2 (``vsn=2.0.0``): JSON arrays, and the binary serializer.

    Selected per connection when the client connects with ``?vsn=2.0.0`` (what phoenix.js
    sends) unless the hub fixes a protocol: ``SocketHub(protocol=PhoenixProtocol())``.
    See the module docstring for the frame mapping.  Stateless: one instance may serve
    any number of hubs and connections.
    """

    name = "phoenix.v2"
    subprotocol = "phoenix"

    # -- inbound ------------------------------------------------------------------------

    def decode(self, frame: str | bytes) -> Inbound:
        if isinstance(frame, bytes):
            return self._decode_binary(frame)
        try:
            raw = self.codec.decode(frame)
        except (ValueError, RecursionError):
            raise FrameError(_BAD, "Malformed frame: not valid JSON") from None
        if not isinstance(raw, list) or len(raw) != 5:
            raise FrameError(
                _BAD, "Malformed frame: expected [join_ref, ref, topic, event, payload]"
            )
        join_ref, ref, topic, event, payload = raw
        ref = _ref(ref, "ref")
        join_ref = _ref(join_ref, "join_ref", ref)
        if not isinstance(topic, str) or not topic:
            raise FrameError(_BAD, "Malformed frame: topic must be a non-empty string", ref=ref)
        if not isinstance(event, str) or not event:
            raise FrameError(_BAD, "Malformed frame: event must be a non-empty string", ref=ref)
        return Inbound(topic, event, payload, ref, join_ref, _kind(topic, event))

    def _decode_binary(self, frame: bytes) -> Inbound:
        # phoenix.js sends pushes only: kind, join_ref/ref/topic/event sizes, the four
        # fields, then the raw payload.
        if len(frame) < 5 or frame[0] != _PUSH:
            raise FrameError(_BAD, "Malformed frame: not a Phoenix binary push")
        sizes = frame[1:5]
        offset = 5
        fields: list[str] = []
        for size in sizes:
            chunk = frame[offset : offset + size]
            if len(chunk) != size:
                raise FrameError(_BAD, "Malformed frame: truncated Phoenix binary push")
            try:
                fields.append(chunk.decode("utf-8"))
            except UnicodeDecodeError:
                raise FrameError(_BAD, "Malformed frame: header is not UTF-8") from None
            offset += size
        join_ref, ref, topic, event = fields
        if not topic or not event:
            raise FrameError(_BAD, "Malformed frame: empty topic or event", ref=ref or None)
        return Inbound(
            topic, event, frame[offset:], ref or None, join_ref or None, _kind(topic, event)
        )

    # -- outbound -------------------------------------------------------------------------

    def broadcast(self, message: PubSubMessage) -> str | bytes:
        payload = message.payload
        if _is_binary(payload):
            topic = _field(message.topic, "topic")
            event = _field(message.event, "event")
            return b"".join(
                (bytes((_BROADCAST, len(topic), len(event))), topic, event, bytes(payload))
            )
        encoded = getattr(message, "payload_json", None)
        if encoded is not None:
            return (
                f"[null,null,{json_string(message.topic)},{json_string(message.event)},{encoded}]"
            )
        return self.codec.encode([None, None, message.topic, message.event, payload])

    def publication(self, message: PubSubMessage) -> str:
        """``[null, "<epoch>:<offset>", topic, event, payload]``: the position travels in
        the ref slot, which phoenix.js passes as the second argument of ``channel.on``
        callbacks (and never mistakes for one of its own refs, which are integers)."""
        ref = f"{message.epoch}:{message.offset}"  # type: ignore[attr-defined]
        return self.codec.encode([None, ref, message.topic, message.event, message.payload])

    def push(
        self, topic: str | None, event: str, payload: Any, join_ref: str | None
    ) -> str | bytes:
        if _is_binary(payload):
            jref = _field(join_ref, "join_ref")
            btopic = _field(topic, "topic")
            bevent = _field(event, "event")
            header = bytes((_PUSH, len(jref), len(btopic), len(bevent)))
            return b"".join((header, jref, btopic, bevent, bytes(payload)))
        return self.codec.encode([join_ref, None, topic, event, payload])

    def reply(self, inbound: Inbound, status: str, response: Any) -> str | bytes:
        """``phx_reply`` to ``inbound``: ``{"status", "response"}``, ``None`` sent as ``{}``."""
        return self._reply(inbound.join_ref, inbound.ref, inbound.topic, status, response)

    def _reply(
        self, join_ref: str | None, ref: str | None, topic: str, status: str, response: Any
    ) -> str | bytes:
        if _is_binary(response):
            try:
                fields = (
                    _field(join_ref, "join_ref"),
                    _field(ref, "ref"),
                    _field(topic, "topic"),
                    _field(status, "status"),
                )
            except ValueError as exc:
                logger.error("cannot send a binary reply on %r: %s", topic, exc)
                return self._reply(join_ref, ref, topic, "error", _why(*codes.INTERNAL_ERROR))
            header = bytes((_REPLY, *(len(f) for f in fields)))
            return b"".join((header, *fields, bytes(response)))
        payload = {"status": status, "response": {} if response is None else response}
        return self.codec.encode([join_ref, ref, topic, "phx_reply", payload])

    def error(self, code: int, reason: str, inbound: Inbound | None) -> str | bytes:
        """An error ``phx_reply`` (``{"reason", "code"}``) to ``inbound``'s ref (on the
        ``phoenix`` topic for a frame with none)."""
        if inbound is None:
            return self._reply(None, None, _SYSTEM_TOPIC, "error", _why(code, reason))
        topic = inbound.topic or _SYSTEM_TOPIC
        return self._reply(inbound.join_ref, inbound.ref, topic, "error", _why(code, reason))

    def join_refused(self, inbound: Inbound, reason: str, response: Any) -> str | bytes:
        return self.reply(inbound, "error", {"reason": reason} if response is None else response)

    def request_failed(self, inbound: Inbound, reason: str, response: Any) -> str | bytes:
        return self.reply(inbound, "error", {"reason": reason} if response is None else response)

    def channel_crashed(self, inbound: Inbound, join_ref: str | None) -> str | bytes:
        """``phx_error`` for the topic, on ``join_ref`` (``inbound``'s if ``None``):
        phoenix.js then rejoins it."""
        if join_ref is None:
            join_ref = inbound.join_ref
        return self.codec.encode([join_ref, join_ref, inbound.topic, "phx_error", {}])

    def left(self, topic: str, join_ref: str | None) -> str | bytes:
        """``phx_close`` for the topic, on ``join_ref``."""
        return self.codec.encode([join_ref, join_ref, topic, "phx_close", {}])


def _kind(topic: str, event: str) -> Kind:
    """``phx_join`` and ``phx_leave`` are a join and a leave, ``heartbeat`` on ``phoenix``
    a heartbeat.  Everything else on ``phoenix`` is a message (to a topic no channel is
    ever joined on: a ``phx_join`` there joins nothing)."""
    if topic == _SYSTEM_TOPIC:
        if event == "heartbeat":
            return Kind.HEARTBEAT
        return Kind.LEAVE if event == "phx_leave" else Kind.MESSAGE
    return _KINDS.get(event, Kind.MESSAGE)


def _why(code: int, reason: str) -> dict[str, Any]:
    return {"reason": reason, "code": code}
