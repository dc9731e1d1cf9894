"""Refusing a WebSocket handshake the best way the server allows."""

from __future__ import annotations

import logging

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketState

__all__ = ["refuse"]

logger = logging.getLogger(__name__)


async def refuse(websocket: WebSocket, reason: str, *, status: int, close_code: int) -> None:
    """Refuse a not-yet-accepted connection.

    With the ASGI ``websocket.http.response`` extension (uvicorn, Starlette's TestClient)
    the client gets an HTTP ``status`` response whose body is ``reason``; otherwise the
    socket is closed with ``close_code`` and ``reason``.
    """
    if websocket.application_state is not WebSocketState.CONNECTING:
        return
    logger.info("refusing WebSocket %s: %s", websocket.url.path, reason)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(PlainTextResponse(reason, status_code=status))
    else:
        await websocket.close(code=close_code, reason=reason)
