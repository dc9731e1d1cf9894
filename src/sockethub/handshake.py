"""The handshake: which origins may connect, and refusing the best way the server allows."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketState

__all__ = ["OriginPolicy", "refuse"]

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


class OriginPolicy:
    """Which browser origins may open a WebSocket (cross-site WebSocket hijacking defence).

    ``allowed_origins=None`` allows every origin.  Otherwise a handshake whose ``Origin``
    header is not in the list (compared case-insensitively, without a trailing slash) is
    refused; ``"*"`` in the list allows any.  ``allow_missing_origin`` decides for clients
    that send no ``Origin``: browsers always send it, so only non-browser clients are let
    in that way.
    """

    __slots__ = ("allow_missing", "origins")

    def __init__(
        self, allowed_origins: Iterable[str] | None = None, allow_missing_origin: bool = True
    ) -> None:
        if isinstance(allowed_origins, str):
            raise TypeError("allowed_origins must be a list of origins, not a string")
        self.origins: frozenset[str] | None = (
            None
            if allowed_origins is None
            else frozenset(_normalise(origin) for origin in allowed_origins)
        )
        self.allow_missing = allow_missing_origin

    def allows(self, origin: str | None) -> bool:
        """Whether a handshake with this ``Origin`` header (None: absent) may proceed."""
        origins = self.origins
        if origins is None:
            return True
        if origin is None:
            return self.allow_missing
        return "*" in origins or _normalise(origin) in origins

    async def check(self, websocket: WebSocket) -> bool:
        """Refuse ``websocket`` (HTTP 403, else close 1008) unless its origin is allowed."""
        if self.allows(websocket.headers.get("origin")):
            return True
        await refuse(websocket, "Origin not allowed", status=403, close_code=1008)
        return False


def _normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
