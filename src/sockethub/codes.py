"""Every code sockethub puts on the wire, in one table.

Error frames (the 0.1 envelope's ``{"code", "reason"}``; Phoenix's ``phx_reply`` with
``{"status": "error", "response": {"reason", "code"}}``) use the 44xx/45xx codes; closes
use the WebSocket close codes.  The reasons are what clients see: never internal details.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "ALREADY_JOINED",
    "BAD_FRAME",
    "CLOSE_DISCONNECTED",
    "CLOSE_IDLE",
    "CLOSE_INTERNAL",
    "CLOSE_ORIGIN",
    "CLOSE_RATE",
    "CLOSE_SLOW",
    "CLOSE_TOO_BIG",
    "CLOSE_TOO_MANY",
    "EVENT_NOT_FOUND",
    "INTERNAL_ERROR",
    "INVALID_TOPIC",
    "JOIN_REFUSED",
    "MALFORMED",
    "REQUEST_FAILED",
    "SERVICE_UNAVAILABLE",
    "TOO_MANY_TOPICS",
    "TOPIC_NOT_FOUND",
    "WireCode",
]


class WireCode(NamedTuple):
    """A code and its default reason (``protocol.error(*TOPIC_NOT_FOUND, inbound)``)."""

    code: int
    reason: str


BAD_FRAME: Final = 4400
"""The code of every answer to a malformed frame (its reason says what was wrong)."""

# -- error frames: the connection goes on --------------------------------------------------
MALFORMED: Final = WireCode(BAD_FRAME, "Malformed frame: not valid JSON")
INVALID_TOPIC: Final = WireCode(BAD_FRAME, "Malformed frame: invalid topic")
JOIN_REFUSED: Final = WireCode(4403, "Join refused")
TOPIC_NOT_FOUND: Final = WireCode(4404, "Topic not found")
EVENT_NOT_FOUND: Final = WireCode(4404, "Event not found")
ALREADY_JOINED: Final = WireCode(4409, "Already joined")
REQUEST_FAILED: Final = WireCode(4422, "Request failed")
TOO_MANY_TOPICS: Final = WireCode(4429, "Too many topics joined")
INTERNAL_ERROR: Final = WireCode(4500, "Internal error")
SERVICE_UNAVAILABLE: Final = WireCode(4503, "Service unavailable")

# -- closes: the connection ends --------------------------------------------------------
CLOSE_IDLE: Final = WireCode(1000, "Idle timeout")
CLOSE_ORIGIN: Final = WireCode(1008, "Origin not allowed")
CLOSE_RATE: Final = WireCode(1008, "Rate limit exceeded")
CLOSE_TOO_BIG: Final = WireCode(1009, "Message too big")
CLOSE_INTERNAL: Final = WireCode(1011, "Internal Server Error")
CLOSE_SLOW: Final = WireCode(1013, "Too slow")
CLOSE_TOO_MANY: Final = WireCode(1013, "Too many connections")
CLOSE_DISCONNECTED: Final = WireCode(1000, "Disconnected")
"""``hub.disconnect(identity)``: the server ended the connection on purpose."""
