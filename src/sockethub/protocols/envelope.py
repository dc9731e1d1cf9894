"""EnvelopeProtocol: the 0.1 JSON envelope, byte for byte, plus optional request refs."""

from __future__ import annotations

from typing import Any

from .. import codes
from ..bus.base import PubSubMessage
from ..codec import json_string
from ..envelope import decode_envelope, error_frame
from ..errors import FrameError
from .base import Inbound, Kind, WireProtocol

__all__ = ["EnvelopeProtocol"]

_NO_TEXT = FrameError(codes.BAD_FRAME, "Malformed frame: binary frames are not supported")
_KINDS = {"join": Kind.JOIN, "leave": Kind.LEAVE}
_MESSAGE = Kind.MESSAGE


class EnvelopeProtocol(WireProtocol):
    """``{"topic", "event", "payload"}`` text frames, as in 0.1.

    A message may carry an extra ``"ref"`` (string): then the join, the leave and every
    reply or error it causes carry the same ``ref``, and joins, leaves and requests are
    acknowledged with ``{"topic", "event": "reply", "payload": {"status": "ok" | "error",
    "response": ...}, "ref"}``.  Frames without ``ref`` behave and look exactly as in 0.1:
    a successful join or leave sends nothing.  Events ``"join"`` and ``"leave"`` are a
    join and a leave of the frame's topic; every other event is a message.
    """

    name = "sockethub.envelope"

    def decode(self, frame: str | bytes) -> Inbound:
        if not isinstance(frame, str):
            raise _NO_TEXT
        topic, event, payload, ref = decode_envelope(frame, self.codec)
        return Inbound(topic, event, payload, ref, None, _KINDS.get(event, _MESSAGE))

    def broadcast(self, message: PubSubMessage) -> str:
        payload = getattr(message, "payload_json", None)
        if payload is not None:
            return (
                f'{{"topic":{json_string(message.topic)},"event":{json_string(message.event)},'
                f'"payload":{payload}}}'
            )
        return self.codec.encode(
            {"topic": message.topic, "event": message.event, "payload": message.payload}
        )

    def publication(self, message: PubSubMessage) -> str:
        """``{"topic", "event", "payload", "offset", "epoch"}``: a broadcast with its place
        in the topic's history."""
        return self.codec.encode(
            {
                "topic": message.topic,
                "event": message.event,
                "payload": message.payload,
                "offset": message.offset,  # type: ignore[attr-defined]
                "epoch": message.epoch,  # type: ignore[attr-defined]
            }
        )

    def push(self, topic: str | None, event: str, payload: Any, join_ref: str | None) -> str:
        return self.codec.encode({"topic": topic, "event": event, "payload": payload})

    def reply(self, inbound: Inbound, status: str, response: Any) -> str | None:
        if inbound.ref is None:
            return None
        return self.codec.encode(
            {
                "topic": inbound.topic,
                "event": "reply",
                "payload": {"status": status, "response": response},
                "ref": inbound.ref,
            }
        )

    def error(self, code: int, reason: str, inbound: Inbound | None) -> str:
        return self.codec.encode(
            error_frame(code, reason, None if inbound is None else inbound.ref)
        )

    def join_refused(self, inbound: Inbound, reason: str, response: Any) -> str:
        if inbound.ref is None:
            return self.codec.encode(error_frame(codes.JOIN_REFUSED.code, reason))
        return self._error_reply(inbound, {"reason": reason} if response is None else response)

    def request_failed(self, inbound: Inbound, reason: str, response: Any) -> str:
        if inbound.ref is None:
            return self.codec.encode(error_frame(codes.REQUEST_FAILED.code, reason))
        return self._error_reply(inbound, response)

    def channel_crashed(self, inbound: Inbound, join_ref: str | None) -> str:
        return self.codec.encode(error_frame(*codes.INTERNAL_ERROR, inbound.ref))

    def left(self, topic: str, join_ref: str | None) -> str:
        """``{"topic", "event": "phx_close", "payload": {}}``."""
        return self.codec.encode({"topic": topic, "event": "phx_close", "payload": {}})

    def _error_reply(self, inbound: Inbound, response: Any) -> str:
        reply = self.reply(inbound, "error", response)
        assert reply is not None
        return reply
