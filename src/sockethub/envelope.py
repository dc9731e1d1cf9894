"""The 0.1 wire format: the message envelope, its JSON encoding and the error frames.

Frames keep exactly the keys, values and key order that 0.1 clients parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import FrameError

__all__ = [
    "BAD_FRAME",
    "EVENT_NOT_FOUND",
    "INTERNAL_ERROR",
    "TOPIC_NOT_FOUND",
    "MessageEnvelope",
    "dumps",
    "error_frame",
]

#: JSON encoding of every outbound frame: what Starlette's ``send_json`` produces.
dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.JSONDecoder().decode

TOPIC_NOT_FOUND: Final = {"code": 4404, "reason": "Topic not found"}
"""Sent for a message to a topic that matches no channel, or that is not joined."""

EVENT_NOT_FOUND: Final = {"code": 4404, "reason": "Event not found"}
"""Sent for an event that the joined channel has no ``on_receive`` callback for."""

BAD_FRAME: Final = 4400
"""Code of the error frames answering malformed frames."""

INTERNAL_ERROR: Final[dict[str, Any]] = {"code": 4500, "reason": "Internal error"}
"""Sent when a callback raised (the details go to the server log only)."""


def error_frame(code: int, reason: str, ref: str | None = None) -> dict[str, Any]:
    """An error frame ``{"code", "reason"}``, plus ``"ref"`` when answering a ref'd message."""
    if ref is None:
        return {"code": code, "reason": reason}
    return {"code": code, "reason": reason, "ref": ref}


@dataclass(slots=True)
class MessageEnvelope:
    """One inbound message: ``{"topic", "event", "payload"}`` (and an optional ``ref``).

    ``topic_params`` holds the placeholders the topic's channel matched.
    """

    topic: str
    event: str
    payload: Any = None
    ref: str | None = None
    topic_params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: Any) -> MessageEnvelope:
        """Validate a decoded JSON value; raise :class:`FrameError` naming what is wrong."""
        if not isinstance(raw, dict):
            raise FrameError(BAD_FRAME, "Malformed frame: expected a JSON object")
        ref = raw.get("ref")
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
            raise FrameError(BAD_FRAME, "Malformed frame: 'ref' must be a string")
        ref = None if ref is None else str(ref)
        topic = raw.get("topic")
        if not isinstance(topic, str) or not topic:
            raise FrameError(
                BAD_FRAME, "Malformed frame: 'topic' must be a non-empty string", ref=ref
            )
        event = raw.get("event")
        if not isinstance(event, str) or not event:
            raise FrameError(
                BAD_FRAME, "Malformed frame: 'event' must be a non-empty string", ref=ref
            )
        return cls(topic, event, raw.get("payload"), ref)

    @classmethod
    def from_text(cls, text: str) -> MessageEnvelope:
        """Decode one text frame; raise :class:`FrameError` if it is not a valid envelope."""
        try:
            raw = _loads(text)
        except (ValueError, RecursionError):
            raise FrameError(BAD_FRAME, "Malformed frame: not valid JSON") from None
        return cls.from_raw(raw)
