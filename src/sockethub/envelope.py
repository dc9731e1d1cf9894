"""The 0.1 wire format: the message envelope, its JSON encoding and the error frames.

Frames keep exactly the keys, values and key order that 0.1 clients parse.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Final

from . import codes
from .errors import EncodeError, FrameError

__all__ = [
    "BAD_FRAME",
    "EVENT_NOT_FOUND",
    "INTERNAL_ERROR",
    "TOPIC_NOT_FOUND",
    "MessageEnvelope",
    "dumps",
    "error_frame",
    "loads",
]

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def dumps(value: Any) -> str:
    """Encode ``value`` as one outbound frame: compact, UTF-8 safe, strict JSON (RFC 8259).

    The text is what Starlette's ``send_json`` produces for ordinary values.  Values that
    would make an invalid frame raise :class:`~sockethub.EncodeError` (a ``TypeError``):
    objects JSON cannot represent, ``NaN``/``Infinity`` (which browsers' ``JSON.parse``
    rejects), and strings holding a lone UTF-16 surrogate (which cannot be sent as UTF-8).
    """
    try:
        text = _encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise EncodeError(f"cannot encode as strict JSON: {exc}") from exc
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise EncodeError("cannot encode as UTF-8: a string holds a lone surrogate") from None
    return text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


_strict_decode = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite).decode
#: A ``\u`` escape of a UTF-16 surrogate (paired or not) in JSON text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads(text: str | bytes) -> Any:
    """Decode one inbound JSON text strictly, so that whatever it holds can be sent again.

    Refuses (``ValueError``) what Python's ``json`` accepts but RFC 8259 does not
    (``NaN``, ``Infinity``), numbers that overflow to infinity (``1e999999``), and
    escaped lone surrogates (``"\\ud800"``); too deep nesting raises ``RecursionError``.
    """
    if not isinstance(text, str):
        text = text.decode("utf-8")
    value = _strict_decode(text)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None:
        try:
            dumps(value)  # a paired surrogate escape decodes to one character: fine
        except EncodeError:
            raise ValueError("a string holds a lone surrogate") from None
    return value


TOPIC_NOT_FOUND: Final = dict(codes.TOPIC_NOT_FOUND._asdict())
"""Sent for a message to a topic that matches no channel, or that is not joined."""

EVENT_NOT_FOUND: Final = dict(codes.EVENT_NOT_FOUND._asdict())
"""Sent for an event that the joined channel has no ``on_receive`` callback for."""

BAD_FRAME: Final = codes.BAD_FRAME
"""Code of the error frames answering malformed frames."""

INTERNAL_ERROR: Final[dict[str, Any]] = dict(codes.INTERNAL_ERROR._asdict())
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
            raw = loads(text)
        except (ValueError, RecursionError):
            raise FrameError(*codes.MALFORMED) from None
        return cls.from_raw(raw)
