"""sockethub: WebSocket apps on Starlette.

* :class:`WebSocketRoute`: the low-level route; one async function drives one socket.
* :class:`SocketHub`: channels (``"room:{id}"``), hooks, composition and a pub/sub bus.
"""

from .bus import BusObserver, BusUnavailable, InMemorySocketBus, PubSubMessage, SocketBus
from .channel import Channel
from .codec import Codec, JSONCodec, OrjsonCodec
from .errors import EncodeError, JoinRefused, RejectError, ReplyError, SockethubDeprecationWarning
from .history import History, StreamPosition
from .hub import HubStats, SocketHub
from .limits import HubLimits
from .protocols import EnvelopeProtocol, PhoenixProtocol, WireProtocol
from .socket import ChannelSocket, ISocket
from .websocket import WebSocketRoute

__version__ = "0.2.0"

__all__ = [
    "BusObserver",
    "BusUnavailable",
    "Channel",
    "ChannelSocket",
    "Codec",
    "EncodeError",
    "EnvelopeProtocol",
    "History",
    "HubLimits",
    "HubStats",
    "ISocket",
    "InMemorySocketBus",
    "JSONCodec",
    "JoinRefused",
    "OrjsonCodec",
    "PhoenixProtocol",
    "PubSubMessage",
    "RejectError",
    "ReplyError",
    "SocketBus",
    "SocketHub",
    "SockethubDeprecationWarning",
    "StreamPosition",
    "WebSocketRoute",
    "WireProtocol",
    "__version__",
]
