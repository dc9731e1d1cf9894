"""``sock.publish`` on a topic with history returns the publication's position, so a
sender that excludes itself still learns where its message stands."""

from __future__ import annotations

from typing import Any

from sockethub import ChannelSocket, History, SocketHub
from sockethub.testing import HubClient
from tests.hub.helpers import app_for


def test_sock_publish_returns_the_position_on_history_topics_and_none_elsewhere() -> None:
    hub = SocketHub("/ws")
    kept = hub.channel("log:{id}", history=History(size=10, ttl=60))
    plain = hub.channel("room:{id}")

    @kept.on_receive("say")
    @plain.on_receive("say")
    async def say(payload: Any, sock: ChannelSocket) -> Any:
        position = await sock.publish(payload, event="said", exclude_self=True)
        return None if position is None else {"offset": position.offset}

    with HubClient(app_for(hub)) as client, client.connect("/ws") as ws:
        ws.join("log:1")
        ws.join("room:1")
        assert ws.push("log:1", "say", "a") == {"offset": 1}
        assert ws.push("log:1", "say", "b") == {"offset": 2}
        assert ws.push("room:1", "say", "c") is None
        ws.assert_nothing_pending()  # excluded: the sender got no copy
