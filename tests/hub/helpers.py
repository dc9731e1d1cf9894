"""Shared helpers for the SocketHub suites (over Starlette's TestClient).

"Nothing else arrived" is shown without timing: :func:`probe` sends a message to a topic
that no test joins; the hub answers it with ``TOPIC_NOT_FOUND``, and frames to one socket
leave in the order they were produced, so that answer must be the very next frame.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import WebSocketTestSession

from sockethub import SocketHub

TOPIC_NOT_FOUND = '{"code":4404,"reason":"Topic not found"}'
EVENT_NOT_FOUND = '{"code":4404,"reason":"Event not found"}'
INTERNAL_ERROR = '{"code":4500,"reason":"Internal error"}'
ALREADY_JOINED = '{"code":4409,"reason":"Already joined"}'
PROBE_TOPIC = "never-registered:probe"


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


def send(ws: WebSocketTestSession, topic: str, event: str, payload: Any = None) -> None:
    ws.send_text(frame(topic, event, payload))


def probe(ws: WebSocketTestSession) -> None:
    """Assert that nothing is pending on ``ws`` (see the module docstring)."""
    send(ws, PROBE_TOPIC, "ping")
    assert ws.receive_text() == TOPIC_NOT_FOUND
