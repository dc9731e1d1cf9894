"""Failure models: what a connection's client expects when a join, a leave or a callback
does not go the plain way.

A wire protocol only turns frames into values and back; the session's state machine
decides what each situation calls for, by the rules of the connection's failure model.
Two exist: Phoenix's (for the clients of :class:`~sockethub.PhoenixProtocol`, phoenix.js
above all) and sockethub's own (the 0.1 envelope's, which 0.1 code relies on byte for
byte).
"""

from __future__ import annotations

from dataclasses import dataclass

from .protocols.base import WireProtocol
from .protocols.phoenix import PhoenixProtocol

__all__ = ["ENVELOPE_MODEL", "PHOENIX_MODEL", "FailureModel", "failure_model"]


@dataclass(frozen=True, slots=True)
class FailureModel:
    """The rules a session follows for one connection."""

    name: str
    crash_leaves: bool
    """A channel whose callback crashed is left at once (its topic unsubscribed, its
    ``on_exit`` run) after the crash frame, so the client's rejoin is a fresh join (as a
    Phoenix channel process dies).  Otherwise the channel stays joined."""
    leave_unknown_ok: bool
    """A leave of a topic that is not joined is acknowledged ok (Phoenix answers every
    ``phx_leave``); otherwise it is answered ``TOPIC_NOT_FOUND``."""
    close_after_leave: bool
    """A client's leave, once acknowledged, is followed by the channel's close frame
    (``phx_close``).  A leave the server makes (``hub.remove``) always sends it."""
    join_crash_refuses: bool
    """A join whose handling crashed is answered as a refused join, ``{"reason": "join
    crashed"}`` (what Phoenix answers); otherwise with the channel's crash frame."""
    idle_timeout: float | None
    """Close a connection that sent nothing for this many seconds, unless the hub sets
    ``HubLimits.idle_timeout`` (which wins).  Phoenix closes a socket whose client
    stopped heartbeating; ``None``: never."""


PHOENIX_MODEL = FailureModel(
    "phoenix",
    crash_leaves=True,
    leave_unknown_ok=True,
    close_after_leave=True,
    join_crash_refuses=True,
    idle_timeout=60.0,
)
"""Phoenix's: a crashed channel is gone at once; every leave is answered ok; a client
silent for 60 s (two missed phoenix.js heartbeats) is closed."""

ENVELOPE_MODEL = FailureModel(
    "sockethub",
    crash_leaves=False,
    leave_unknown_ok=False,
    close_after_leave=False,
    join_crash_refuses=False,
    idle_timeout=None,
)
"""sockethub's (the 0.1 semantics): a crashed channel stays joined; errors are answered
as errors."""


def failure_model(protocol: WireProtocol) -> FailureModel:
    """The failure model of a connection speaking ``protocol``: Phoenix's for Phoenix
    clients, sockethub's for every other protocol."""
    return PHOENIX_MODEL if isinstance(protocol, PhoenixProtocol) else ENVELOPE_MODEL
