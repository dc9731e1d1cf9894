"""Hub-level helpers of the presence suites: an app served over TestClient on a store.

Frames arrive asynchronously on Redis: :meth:`Served.settle` shows that nothing else
came by publishing a marker (one topic's messages arrive in one order).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from sockethub import SocketHub
from sockethub.bus import SocketBus
from sockethub.presence import PresenceStore
from sockethub.testing import HubClient, TestSocket
from tests.redis_server import RedisServer

from .app import PATH, build

T = "room:1"
HEARTBEAT = 0.1
DEAD_AFTER = 0.6


class Served:
    def __init__(self, hub: SocketHub, client: HubClient, blocked: threading.Event) -> None:
        self.hub = hub
        self.client = client
        self.blocked = blocked

    def connect(self, user: str | None = None, *, phoenix: bool = False) -> TestSocket:
        query = "&".join(q for q in (f"user={user}" if user else "", "vsn=2.0.0" * phoenix) if q)
        return self.client.connect(f"{PATH}?{query}")

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            return await func(*args, **kwargs)

        return self.client.call(run)

    def settle(self, *sockets: TestSocket, topic: str = T) -> None:
        """Publish a marker to ``topic``; each socket's next frame must be that marker."""
        self.call(self.hub.publish, topic, "marker", None)
        for ws in sockets:
            assert event_of(ws.receive_json()) == "marker"


def event_of(frame: Any) -> str:
    return frame[3] if isinstance(frame, list) else frame.get("event")


def payload_of(frame: Any) -> Any:
    return frame[4] if isinstance(frame, list) else frame.get("payload")


def join(ws: TestSocket, topic: str = T, payload: Any = None, ref: str = "j") -> Any:
    """Join with a ref (envelope); return the presence_state payload (after the reply)."""
    ws.send_text(json.dumps({"topic": topic, "event": "join", "payload": payload, "ref": ref}))
    reply = ws.receive_json()
    assert reply["event"] == "reply", reply
    if reply["payload"]["status"] != "ok":
        return reply
    state = ws.receive_json()
    assert state["event"] == "presence_state", state
    return state["payload"]


def keys(state: dict[str, Any]) -> list[str]:
    return sorted(state)


def next_diff(ws: TestSocket) -> dict[str, Any]:
    frame = ws.receive_json()
    assert event_of(frame) == "presence_diff", frame
    diff: dict[str, Any] = payload_of(frame)
    return diff


@contextlib.contextmanager
def serve(kind: str, prefix: str, server: RedisServer | None, **options: Any) -> Iterator[Served]:
    bus: SocketBus | None = None
    store: PresenceStore | None = None
    if kind == "redis":
        from sockethub.bus.redis import RedisSocketBus
        from sockethub.presence.redis import RedisPresence

        assert server is not None
        bus = RedisSocketBus(server.url, prefix=prefix)
        store = RedisPresence.for_bus(bus, heartbeat_interval=HEARTBEAT, dead_after=DEAD_AFTER)
    blocked = threading.Event()
    hub, app = build(bus, store, blocked=blocked, **options)
    with HubClient(app) as client:
        yield Served(hub, client, blocked)
