"""Shared pieces of the SocketHub suites: an app serving hubs, and the exact 0.1 frames
the hub sends.  Connections, joins, pushes and "nothing else arrived" come from the public
test kit, :mod:`sockethub.testing`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import WebSocketTestSession

from sockethub import SocketHub
from sockethub.testing import PROBE_TOPIC

TOPIC_NOT_FOUND = '{"code":4404,"reason":"Topic not found"}'
EVENT_NOT_FOUND = '{"code":4404,"reason":"Event not found"}'
INTERNAL_ERROR = '{"code":4500,"reason":"Internal error"}'
ALREADY_JOINED = '{"code":4409,"reason":"Already joined"}'


def app_for(*hubs: SocketHub) -> Starlette:
    """A Starlette app serving ``hubs``, each hub's bus started by the lifespan."""
    if len(hubs) == 1:
        return Starlette(routes=[hubs[0]], lifespan=hubs[0].lifespan)

    import contextlib
    from collections.abc import AsyncIterator

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for hub in hubs:
                await stack.enter_async_context(hub.lifespan(app))
            yield

    return Starlette(routes=list(hubs), lifespan=lifespan)


def frame(topic: str, event: str, payload: Any = None) -> str:
    """The 0.1 envelope as raw text, exactly as the hub encodes it."""
    return json.dumps(
        {"topic": topic, "event": event, "payload": payload},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def probe(ws: WebSocketTestSession) -> None:
    """Assert that nothing is pending on a raw Starlette session (the suites that check
    handshake refusals drive ``TestClient`` directly): a frame to a topic nobody joins
    is answered at once, so its answer must be the next frame."""
    ws.send_text(frame(PROBE_TOPIC, "ping"))
    assert ws.receive_text() == TOPIC_NOT_FOUND
