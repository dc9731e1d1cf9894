"""sockethub: WebSocket apps on Starlette.

* :class:`WebSocketRoute`: the low-level route; one async function drives one socket.
* :class:`SocketHub`: channels (``"room:{id}"``), hooks, composition and a pub/sub bus.
"""

from .bus import BusObserver, InMemorySocketBus, PubSubMessage, SocketBus
from .channel import Channel
from .errors import JoinRefused, RejectError, ReplyError
from .hub import HubStats, SocketHub
from .limits import HubLimits
from .socket import ISocket
from .websocket import WebSocketRoute

# isort: split
# The deprecated 0.1 managed mode (removed in 0.3) builds on .websocket: import it after.
from .legacy import SockethubDeprecationWarning

__version__ = "0.2.0"

__all__ = [
    "BusObserver",
    "Channel",
    "HubLimits",
    "HubStats",
    "ISocket",
    "InMemorySocketBus",
    "JoinRefused",
    "PubSubMessage",
    "RejectError",
    "ReplyError",
    "SocketBus",
    "SocketHub",
    "SockethubDeprecationWarning",
    "WebSocketRoute",
    "__version__",
]
