"""A test kit for apps built on sockethub, for both wire protocols, sync and async.

Modelled on Phoenix's ``ChannelTest``: connect (a refused handshake raises
:class:`ConnectRefused`), join (returns the join reply; a refused join raises
:class:`JoinError`), push (returns the reply; an error reply raises :class:`PushError`),
expect a broadcast (the *next* frame must match; a wait that runs out raises
:class:`ReplyTimeout`), assert nothing else is pending (proven by a round trip, never by
sleeping), publish from the server side, leave, close.

* :class:`HubClient` / :class:`TestSocket`: blocking, on Starlette's ``TestClient``.
* :class:`AsyncHubClient` / :class:`AsyncTestSocket`: ``async``, the app driven through
  ASGI on the test's own event loop (no server, no thread).
* :func:`sockethub.testing.served.connect_served`: the same socket against a running
  server (needs ``websockets``).

None of them needs pytest; they work from ``unittest`` (``IsolatedAsyncioTestCase`` for the
async kit) or a plain script.
"""

from ..frames import ConnectRefused, Frame, JoinError, PushError, Reply, ReplyTimeout
from .asgi import AsyncHubClient, InProcessSocket, open_socket
from .socket import ANY, DEFAULT_TIMEOUT, PROBE_TOPIC, AsyncTestSocket, Disconnected
from .sync import HubClient, TestSocket

__all__ = [
    "ANY",
    "DEFAULT_TIMEOUT",
    "PROBE_TOPIC",
    "AsyncHubClient",
    "AsyncTestSocket",
    "ConnectRefused",
    "Disconnected",
    "Frame",
    "HubClient",
    "InProcessSocket",
    "JoinError",
    "PushError",
    "Reply",
    "ReplyTimeout",
    "TestSocket",
    "open_socket",
]
