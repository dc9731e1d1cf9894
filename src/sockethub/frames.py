"""The client side of both wire protocols: what a client sends, what it receives.

Shared by :mod:`sockethub.testing` (in-process) and :mod:`sockethub.client` (over the
network).  A :class:`ClientWire` encodes a client's messages and decodes the server's
frames into :class:`Frame` values; :class:`Reply` is the answer to a message that carried
a ``ref``.  The errors raised for error replies, refused joins and refused handshakes live
here too, so that tests and services catch the same classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "ENVELOPE",
    "PHOENIX",
    "ClientWire",
    "ConnectRefused",
    "Frame",
    "JoinError",
    "ProtocolName",
    "PushError",
    "Reply",
    "ReplyTimeout",
    "loads",
    "wire_for",
]

ProtocolName = Literal["envelope", "phoenix"]
"""``"envelope"``: the 0.1 JSON envelope (with refs); ``"phoenix"``: Phoenix Channels V2."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame the server sent, decoded.

    For the 0.1 envelope an error frame ``{"code", "reason", "ref"?}`` has ``topic=None``,
    ``event="error"`` and ``payload={"code", "reason"}``.  ``raw`` is the frame as it came.
    """

    topic: str | None
    event: str
    payload: Any
    ref: str | None = None
    join_ref: str | None = None
    raw: str | bytes = ""

    def __repr__(self) -> str:
        return (
            f"Frame(topic={self.topic!r}, event={self.event!r}, payload={self.payload!r}, "
            f"ref={self.ref!r}, join_ref={self.join_ref!r})"
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """The server's answer to a message sent with a ``ref``."""

    topic: str | None
    status: str
    """``"ok"`` or ``"error"``."""
    response: Any
    """The callback's return value (ok), or the error's response (error)."""
    frame: Frame

    @property
    def ok(self) -> bool:
        """Whether the status is ``"ok"``."""
        return self.status == "ok"


class PushError(Exception):
    """The server answered a message with an error reply.

    ``response`` is the reply's response (Phoenix: ``{"reason", ...}``; the envelope's
    error frames: ``{"code", "reason"}``); ``code`` and ``reason`` are read from it when
    present.
    """

    def __init__(self, topic: str | None, event: str, reply: Reply) -> None:
        self.topic = topic
        self.event = event
        self.reply = reply
        response = reply.response
        self.response: Any = response
        fields = response if isinstance(response, dict) else {}
        code = fields.get("code")
        self.code: int | None = code if isinstance(code, int) else None
        reason = fields.get("reason")
        self.reason: str | None = reason if isinstance(reason, str) else None
        super().__init__(f"{event!r} on {topic!r} was answered with an error: {response!r}")


class JoinError(PushError):
    """The server refused a join (``JoinRefused``, an unknown topic, a crash, a limit)."""


class ReplyTimeout(TimeoutError):
    """No reply (or no expected frame) arrived in time."""


class ConnectRefused(ConnectionError):
    """The server refused the WebSocket handshake.

    ``code``/``reason``: the close code and reason sent before accepting (``None`` when the
    server answered with a plain HTTP response, whose ``status`` is then set).
    """

    def __init__(self, code: int | None, reason: str = "", *, status: int | None = None) -> None:
        self.code = code
        self.reason = reason
        self.status = status
        what = f"HTTP {status}" if status is not None else f"close {code} {reason!r}"
        super().__init__(f"the server refused the connection: {what}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259); a browser's JSON.parse refuses it")


def loads(data: str | bytes) -> Any:
    """Parse a server frame as a browser's ``JSON.parse`` would, or raise ``ValueError``:
    ``NaN``/``Infinity`` and text that is not valid UTF-8 (a lone surrogate) are refused."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"a frame that is not valid UTF-8: {exc}") from None
    return json.loads(data, parse_constant=_refuse_constant)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _ref(value: Any) -> str | None:
    return None if value is None else str(value)


class ClientWire:
    """How a client speaks one wire protocol (a stateless object; see :func:`wire_for`)."""

    name: ProtocolName
    join_event: str
    leave_event: str
    query: dict[str, str]
    """Query parameters a connection must carry to select this protocol."""

    def encode(
        self,
        topic: str,
        event: str,
        payload: Any,
        ref: str | None = None,
        join_ref: str | None = None,
    ) -> str:
        """The frame for one client message (``ref``: ask for a reply)."""
        raise NotImplementedError

    def decode(self, data: str | bytes) -> Frame:
        """Decode one server frame; ``ValueError`` if it is not one of this protocol."""
        raise NotImplementedError

    def reply(self, frame: Frame) -> Reply | None:
        """The reply ``frame`` carries, or ``None`` if it is not a reply."""
        raise NotImplementedError

    def heartbeat(self, ref: str) -> str | None:
        """A heartbeat frame with ``ref`` (``None``: the protocol has none)."""
        return None

    def is_heartbeat_reply(self, frame: Frame) -> bool:
        """Whether ``frame`` answers a :meth:`heartbeat`."""
        return False


class _Envelope(ClientWire):
    name: ProtocolName = "envelope"
    join_event = "join"
    leave_event = "leave"

    def __init__(self) -> None:
        self.query = {}

    def encode(
        self,
        topic: str,
        event: str,
        payload: Any,
        ref: str | None = None,
        join_ref: str | None = None,
    ) -> str:
        message: dict[str, Any] = {"topic": topic, "event": event, "payload": payload}
        if ref is not None:
            message["ref"] = ref
        return _dumps(message)

    def decode(self, data: str | bytes) -> Frame:
        value = loads(data)
        if not isinstance(value, dict):
            raise ValueError(f"not an envelope frame: {data!r}")
        if "event" not in value and "code" in value:
            payload = {"code": value["code"], "reason": value.get("reason")}
            return Frame(None, "error", payload, _ref(value.get("ref")), raw=data)
        return Frame(
            value.get("topic"),
            str(value.get("event")),
            value.get("payload"),
            _ref(value.get("ref")),
            raw=data,
        )

    def reply(self, frame: Frame) -> Reply | None:
        if frame.ref is None:
            return None
        if frame.event == "error":
            return Reply(frame.topic, "error", frame.payload, frame)
        if frame.event == "reply" and isinstance(frame.payload, dict):
            status = str(frame.payload.get("status"))
            return Reply(frame.topic, status, frame.payload.get("response"), frame)
        return None


class _Phoenix(ClientWire):
    name: ProtocolName = "phoenix"
    join_event = "phx_join"
    leave_event = "phx_leave"

    def __init__(self) -> None:
        self.query = {"vsn": "2.0.0"}

    def encode(
        self,
        topic: str,
        event: str,
        payload: Any,
        ref: str | None = None,
        join_ref: str | None = None,
    ) -> str:
        return _dumps([join_ref, ref, topic, event, payload])

    def decode(self, data: str | bytes) -> Frame:
        if isinstance(data, bytes):
            return self._decode_binary(data)
        value = loads(data)
        if not isinstance(value, list) or len(value) != 5:
            raise ValueError(f"not a Phoenix V2 frame: {data!r}")
        join_ref, ref, topic, event, payload = value
        return Frame(topic, str(event), payload, _ref(ref), _ref(join_ref), raw=data)

    @staticmethod
    def _decode_binary(data: bytes) -> Frame:
        # Kinds: 0 push [join_ref, topic, event], 1 reply [join_ref, ref, topic, status],
        # 2 broadcast [topic, event]; each field's size in a header byte.
        kind = data[0] if data else -1
        count = {0: 3, 1: 4, 2: 2}.get(kind)
        if count is None:
            raise ValueError("not a Phoenix binary frame")
        sizes = data[1 : 1 + count]
        offset = 1 + count
        fields: list[str] = []
        for size in sizes:
            fields.append(data[offset : offset + size].decode("utf-8"))
            offset += size
        body = data[offset:]
        if kind == 0:
            join_ref, topic, event = fields
            return Frame(topic, event, body, None, join_ref or None, raw=data)
        if kind == 1:
            join_ref, ref, topic, status = fields
            payload = {"status": status, "response": body}
            return Frame(topic, "phx_reply", payload, ref or None, join_ref or None, raw=data)
        topic, event = fields
        return Frame(topic, event, body, raw=data)

    def reply(self, frame: Frame) -> Reply | None:
        if frame.event != "phx_reply" or not isinstance(frame.payload, dict):
            return None
        status = str(frame.payload.get("status"))
        return Reply(frame.topic, status, frame.payload.get("response"), frame)

    def heartbeat(self, ref: str) -> str | None:
        return _dumps([None, ref, "phoenix", "heartbeat", {}])

    def is_heartbeat_reply(self, frame: Frame) -> bool:
        return frame.topic == "phoenix" and frame.event == "phx_reply"


ENVELOPE: Final[ClientWire] = _Envelope()
"""The 0.1 envelope, as a client speaks it."""
PHOENIX: Final[ClientWire] = _Phoenix()
"""Phoenix Channels V2 (``vsn=2.0.0``), as a client speaks it."""


def wire_for(protocol: ProtocolName) -> ClientWire:
    """The :class:`ClientWire` for ``"envelope"`` or ``"phoenix"``."""
    if protocol == "envelope":
        return ENVELOPE
    if protocol == "phoenix":
        return PHOENIX
    raise ValueError(f"unknown protocol {protocol!r}: expected 'envelope' or 'phoenix'")
