"""Exceptions that callbacks raise on purpose to steer a connection."""

from __future__ import annotations

from typing import Any

import deprecation

__all__ = [
    "EncodeError",
    "FrameError",
    "JoinRefused",
    "RejectError",
    "ReplyError",
    "SockethubDeprecationWarning",
]


class RejectError(Exception):
    """The handshake was refused by ``sock.allow_if`` (or raised directly in ``on_connect``).

    The socket is already closed when this propagates; the hub ends the connection
    quietly (no error log, no ``on_disconnect``).
    """


class JoinRefused(Exception):
    """Raise in ``on_join`` to refuse a join without closing the connection.

    ``reason`` is sent to the client as is (keep it client-safe), in an error frame
    ``{"code": 4403, "reason": reason}``; the topic stays unjoined.  ``response`` is an
    optional JSON value for protocols with join replies (Phoenix's ``{"reason": ...}``).
    """

    def __init__(self, reason: str = "Join refused", *, response: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response


class ReplyError(Exception):
    """Raise in ``on_receive`` to answer the message with an error reply.

    With a ``ref`` on the message the client gets ``{"status": "error", "response":
    response}``; without one it gets ``{"code": 4422, "reason": reason}``.  ``reason`` and
    ``response`` are sent as is: never put internal details there.
    """

    def __init__(self, reason: str = "Request failed", *, response: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = {"reason": reason} if response is None else response


class FrameError(Exception):
    """An inbound frame the wire protocol cannot decode; answered with an error frame."""

    def __init__(self, code: int, reason: str, *, ref: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.ref = ref


class EncodeError(TypeError):
    """A value cannot be sent as a frame: it is not strict JSON (RFC 8259) in UTF-8.

    Raised where the value enters sockethub (``hub.publish``, ``sock.publish``,
    ``sock.reply``...) for objects the codec cannot represent even after its conversions
    (see :mod:`sockethub.codec`), ``NaN`` and infinities, and strings holding a lone
    UTF-16 surrogate.  A publish raises it on every bus, whether or not anybody is
    subscribed.  A ``TypeError``, as ``json.dumps`` raises.
    """


class SockethubDeprecationWarning(deprecation.DeprecatedWarning):  # type: ignore[misc]
    """The category of sockethub's deprecation warnings.

    A subclass of ``deprecation.DeprecatedWarning``, hence of ``DeprecationWarning``:
    ``-W error::DeprecationWarning`` catches it, and
    ``filterwarnings("error::sockethub.SockethubDeprecationWarning")`` catches only ours.
    """
