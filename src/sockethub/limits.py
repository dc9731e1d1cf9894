"""HubLimits: the defences of a hub against clients that misbehave, and the guard that
applies them to each inbound frame."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .codes import CLOSE_RATE, CLOSE_TOO_BIG, WireCode
from .outbox import OverflowPolicy

__all__ = ["HubLimits", "InboundGuard"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HubLimits:
    """Per-connection limits of a :class:`~sockethub.SocketHub`.  Every field has a safe
    default; pass ``HubLimits(...)`` with the ones to change.

    * ``max_frame_bytes``: an inbound frame larger than this many bytes (a text frame's
      UTF-8 bytes, as on the wire, not its characters) closes the connection with 1009
      (Message Too Big).  Default 64 KiB.  (uvicorn's own ``--ws-max-size``, 16 MiB by
      default, applies first, after inflating a compressed message: run uvicorn with
      ``--ws-max-size`` matched to this limit, see the README's "Deploying".)
    * ``max_topics``: topics one connection may have joined at once; one more join is
      answered with ``{"code": 4429, "reason": "Too many topics joined"}``.  Default 200.
    * ``max_topic_length``: a join for a longer topic, or one with control characters, is
      answered with ``{"code": 4400, "reason": "Malformed frame: invalid topic"}``.
      Default 256 characters.
    * ``rate`` / ``burst``: inbound messages per second per connection (token bucket);
      exceeding it closes with 1008 (Policy Violation).  Default: no rate limit.
    * ``callback_timeout``: seconds a callback may run before it is cancelled and treated
      as failed.  Default: none.
    * ``idle_timeout``: close a connection that sent nothing for this many seconds.  Default:
      the protocol's (none for the 0.1 envelope, 60 s for Phoenix).
    * ``outbox_bytes`` / ``overflow``: the bound of each connection's outbound queue and
      what happens past it (``"close"`` with 1013, or ``"drop_oldest"``).  Default 1 MiB,
      close.
    * ``close_timeout``: seconds the end of a connection waits for queued frames.
    * ``max_connections``: connections this hub holds at once in this process; a handshake
      beyond it is refused with HTTP 503 (close 1013 where the server cannot answer
      HTTP) and counted in ``hub.stats.refused``.  uvicorn's ``--limit-concurrency`` does
      not count upgraded WebSockets, so this is the in-process bound on file descriptors
      and memory.  Default: none.
    * ``cancel_grace``: once a connection has ended (the client left, or the server
      closed it), a callback of it still running gets this many seconds before it is
      cancelled (counted in ``hub.stats.abandoned_callbacks``); each clean-up hook
      (``on_exit`` per joined topic, then ``on_disconnect``) is bounded by it too (or by
      ``callback_timeout`` when that is shorter).  So a stuck callback neither outlives
      its client nor holds up a server shutdown.  Default 2 s.
    """

    max_frame_bytes: int = 64 * 1024
    max_topics: int = 200
    max_topic_length: int = 256
    rate: float | None = None
    burst: int = 50
    callback_timeout: float | None = None
    idle_timeout: float | None = None
    outbox_bytes: int = 1024 * 1024
    overflow: OverflowPolicy = "close"
    close_timeout: float = 1.0
    cancel_grace: float = 2.0
    max_connections: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "max_frame_bytes",
            "max_topics",
            "max_topic_length",
            "burst",
            "outbox_bytes",
            "cancel_grace",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"HubLimits.{name} must be positive, got {getattr(self, name)!r}")
        for name in ("rate", "callback_timeout", "idle_timeout", "max_connections"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"HubLimits.{name} must be positive or None, got {value!r}")
        if self.overflow not in ("close", "drop_oldest"):
            raise ValueError(
                f"HubLimits.overflow must be 'close' or 'drop_oldest', got {self.overflow!r}"
            )


class InboundGuard:
    """The per-connection limits on inbound frames: size, rate, and when the client was
    last seen (for the idle timeout).

    :meth:`admit` returns ``None`` for a frame within the limits, else the close code the
    connection must end with; it never closes anything itself.  A frame of at most
    :attr:`always_fits` characters or bytes is within the limits whatever it holds, so a
    caller may skip :meth:`admit` for it (``-1`` while a rate or the idle time is
    tracked: then every frame counts).
    """

    __slots__ = ("always_fits", "burst", "last_seen", "max_frame", "rate", "tokens", "track")

    def __init__(self, limits: HubLimits, idle_timeout: float | None) -> None:
        self.max_frame = limits.max_frame_bytes
        self.rate = limits.rate
        self.burst = float(limits.burst)
        self.tokens = self.burst
        self.track = self.rate is not None or idle_timeout is not None
        #: No character takes more than 4 bytes of UTF-8.
        self.always_fits = -1 if self.track else self.max_frame // 4
        self.last_seen = time.monotonic()

    def admit(self, frame: str | bytes) -> WireCode | None:
        """Check one inbound frame; the close code if it breaks a limit, else None."""
        max_frame = self.max_frame
        size = len(frame)
        if size * 4 > max_frame and type(frame) is str and not frame.isascii():
            size = len(frame.encode("utf-8", "surrogatepass"))  # the size on the wire
        if size > max_frame:
            logger.debug("frame of %d bytes > %d", size, max_frame)
            return CLOSE_TOO_BIG
        if self.track:
            now = time.monotonic()
            rate = self.rate
            if rate is not None:
                tokens = min(self.burst, self.tokens + (now - self.last_seen) * rate)
                if tokens < 1.0:
                    logger.debug("more than %s messages/s", rate)
                    return CLOSE_RATE
                self.tokens = tokens - 1.0
            self.last_seen = now
        return None
