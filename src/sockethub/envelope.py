"""The 0.1 wire format: the message envelope, its JSON encoding and the error frames.

Frames keep exactly the keys, values and key order that 0.1 clients parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from . import codes
from .codec import DEFAULT_CODEC, Codec
from .errors import FrameError

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


def dumps(value: Any) -> str:
    """Encode ``value`` as one outbound frame with the default codec (see
    :mod:`sockethub.codec`): compact, UTF-8 safe, strict JSON (RFC 8259).

    The text is what Starlette's ``send_json`` produces for ordinary values; datetimes,
    UUIDs, dataclasses and the like are converted by :func:`~sockethub.codec.encode_default`.
    Values that would make an invalid frame raise :class:`~sockethub.EncodeError` (a
    ``TypeError``): objects JSON cannot represent, ``NaN``/``Infinity`` (which browsers'
    ``JSON.parse`` rejects), and strings holding a lone UTF-16 surrogate (which cannot be
    sent as UTF-8).
    """
    return DEFAULT_CODEC.encode(value)


def loads(text: str | bytes) -> Any:
    """Decode one inbound JSON text strictly, so that whatever it holds can be sent again.

    Refuses (``ValueError``) what Python's ``json`` accepts but RFC 8259 does not
    (``NaN``, ``Infinity``), numbers that overflow to infinity (``1e999999``), escaped
    lone surrogates (``"\\ud800"``) and too deep nesting.
    """
    return DEFAULT_CODEC.decode(text)


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


def envelope_fields(raw: Any) -> tuple[str, str, Any, str | None]:
    """``(topic, event, payload, ref)`` of a decoded envelope; raise :class:`FrameError`
    naming what is wrong.  (The wire protocol's decoder calls it for every frame.)"""
    if type(raw) is dict:  # the common case first: a valid envelope with a string ref
        topic = raw.get("topic")
        event = raw.get("event")
        ref = raw.get("ref")
        if (
            type(topic) is str
            and topic
            and type(event) is str
            and event
            and (ref is None or type(ref) is str)
        ):
            return topic, event, raw.get("payload"), ref
    return _checked_fields(raw)


def _checked_fields(raw: Any) -> tuple[str, str, Any, str | None]:
    """:func:`envelope_fields` for anything but a valid envelope with a string ``ref``:
    the error naming what is wrong, or a numeric ``ref`` turned into a string."""
    if not isinstance(raw, dict):
        raise FrameError(BAD_FRAME, "Malformed frame: expected a JSON object")
    ref = raw.get("ref")
    if ref is not None and type(ref) is not str:
        if isinstance(ref, bool) or not isinstance(ref, (str, int)):
            raise FrameError(BAD_FRAME, "Malformed frame: 'ref' must be a string")
        ref = str(ref)
    topic = raw.get("topic")
    if not isinstance(topic, str) or not topic:
        raise FrameError(BAD_FRAME, "Malformed frame: 'topic' must be a non-empty string", ref=ref)
    event = raw.get("event")
    if not isinstance(event, str) or not event:
        raise FrameError(BAD_FRAME, "Malformed frame: 'event' must be a non-empty string", ref=ref)
    return topic, event, raw.get("payload"), ref


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
        return cls(*envelope_fields(raw))

    @classmethod
    def from_text(cls, text: str, codec: Codec = DEFAULT_CODEC) -> MessageEnvelope:
        """Decode one text frame; raise :class:`FrameError` if it is not a valid envelope."""
        return cls(*decode_envelope(text, codec))


def decode_envelope(text: str, codec: Codec = DEFAULT_CODEC) -> tuple[str, str, Any, str | None]:
    """``(topic, event, payload, ref)`` of one text frame; raise :class:`FrameError` if it
    is not JSON or not a valid envelope."""
    try:
        raw = codec.decode(text)
    except (ValueError, RecursionError):
        raise FrameError(*codes.MALFORMED) from None
    return envelope_fields(raw)
