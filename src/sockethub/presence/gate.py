"""StateGate: a joined socket's bus callback that holds messages until its state is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..bus.base import PubSubMessage, SubscriberGone

__all__ = ["StateGate"]

logger = logging.getLogger(__name__)


class StateGate:
    """Wraps a subscriber so that a client joining a presence channel receives, in this
    order: the join reply, ``presence_state``, then everything published to the topic
    since it subscribed (diffs included).

    The socket subscribes *before* the state is read, so no change is lost between the
    read and the subscription; what arrives meanwhile waits here until :meth:`open`.  A
    change both in the state and in a held diff is harmless: clients apply diffs by
    ``phx_ref`` (a join of a known ref changes nothing, a leave of an unknown ref
    neither), as phoenix.js's ``Presence`` does.  Once open, a message costs one test.
    """

    __slots__ = ("deliver", "held")

    def __init__(self, deliver: Callable[[PubSubMessage], None]) -> None:
        self.deliver = deliver
        self.held: list[PubSubMessage] | None = []

    def __call__(self, message: PubSubMessage) -> None:
        held = self.held
        if held is not None:
            held.append(message)
            return
        self.deliver(message)

    def open(self) -> None:
        """Deliver what was held, then pass messages straight through."""
        held, self.held = self.held, None
        for message in held or ():
            try:
                self.deliver(message)
            except SubscriberGone:
                return
            except Exception:
                logger.warning("a held message to %r could not be sent", message.topic)
