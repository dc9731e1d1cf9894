"""The handshake: which origins may connect, admitting a hub connection (origin,
connection cap, ``on_connect``, accept), and refusing the best way the server allows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException, WebSocketException
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.websockets import WebSocket, WebSocketState

from .codes import CLOSE_INTERNAL, CLOSE_ORIGIN, CLOSE_TOO_MANY
from .errors import RejectError

if TYPE_CHECKING:
    from .hub import SocketHub
    from .protocols.base import WireProtocol
    from .socket import ISocket

__all__ = ["OriginPolicy", "admit", "close_reason", "refuse", "turned_away"]

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


def close_reason(reason: str) -> str:
    """``reason`` cut to the 123 bytes of UTF-8 a close frame can carry."""
    data = reason.encode("utf-8")
    if len(data) <= 123:
        return reason
    return data[:120].decode("utf-8", "ignore") + "..."


async def refuse_with(websocket: WebSocket, exc: WebSocketException | HTTPException) -> None:
    """Refuse a handshake as FastAPI does for an exception raised before accept.

    ``WebSocketException(code, reason)``: closed with that code and reason (before accept,
    servers such as uvicorn answer HTTP 403).  ``HTTPException(status, detail, headers)``:
    an HTTP response with that status, ``{"detail": detail}`` and the headers where the
    server supports denial responses, else close 1008 with the detail.
    """
    if isinstance(exc, WebSocketException):
        logger.info("refusing WebSocket %s: %s %s", websocket.url.path, exc.code, exc.reason)
        if websocket.application_state in (WebSocketState.CONNECTING, WebSocketState.CONNECTED):
            await websocket.close(code=exc.code, reason=close_reason(exc.reason or ""))
        return
    logger.info(
        "refusing WebSocket %s: HTTP %s %s", websocket.url.path, exc.status_code, exc.detail
    )
    if websocket.application_state is not WebSocketState.CONNECTING:
        if websocket.application_state is WebSocketState.CONNECTED:
            await websocket.close(code=1008, reason=close_reason(str(exc.detail)))
        return
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        try:
            body: PlainTextResponse | JSONResponse = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        except (TypeError, ValueError):  # a detail JSON cannot carry
            body = PlainTextResponse(str(exc.detail), exc.status_code, headers=exc.headers)
        await websocket.send_denial_response(body)
    else:
        await websocket.close(code=1008, reason=close_reason(str(exc.detail)))


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
        await refuse(websocket, CLOSE_ORIGIN.reason, status=403, close_code=CLOSE_ORIGIN.code)
        return False


def _normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


async def turned_away(hub: SocketHub, websocket: WebSocket) -> bool:
    """Refuse a hub handshake at the door, before any app code: an origin the hub does not
    allow (HTTP 403), or one connection more than ``HubLimits.max_connections`` (503)."""
    if not await hub._origin_policy.check(websocket):
        hub.stats.refused += 1
        return True
    cap = hub.limits.max_connections
    if cap is not None and hub.held >= cap:
        hub.stats.refused += 1
        logger.warning("refusing a connection to %s: %d connections held", hub.path, cap)
        await refuse(websocket, CLOSE_TOO_MANY.reason, status=503, close_code=CLOSE_TOO_MANY.code)
        return True
    return False


async def admit(hub: SocketHub, sock: ISocket, protocol: WireProtocol) -> bool:
    """Run ``on_connect`` and accept (with the protocol's subprotocol when offered).

    True when the connection is open for the session; False when ``on_connect`` refused
    it (``allow_if``, ``RejectError``, ``WebSocketException``, ``HTTPException``: see
    :func:`refuse_with`), closed it, or raised (HTTP 500 / close 1011, counted
    in ``hub.stats.callback_errors``; re-raised under ``error_policy="raise"``).
    """
    websocket = sock.websocket
    if hub.on_connect_callback is not None:
        try:
            await hub.on_connect_callback(sock)
        except RejectError as exc:
            hub.stats.refused += 1
            if websocket.application_state in (
                WebSocketState.CONNECTING,
                WebSocketState.CONNECTED,
            ):  # raised directly, not through allow_if: the socket is still open
                await websocket.close(code=4403, reason=str(exc) or "Forbidden")
            return False
        except (WebSocketException, HTTPException) as exc:  # FastAPI's ways to refuse
            hub.stats.refused += 1
            await refuse_with(websocket, exc)
            return False
        except Exception as exc:
            hub.stats.callback_errors += 1
            logger.exception("on_connect raised for %s", websocket.url.path)
            if websocket.application_state is WebSocketState.CONNECTING:
                await refuse(
                    websocket, CLOSE_INTERNAL.reason, status=500, close_code=CLOSE_INTERNAL.code
                )
            elif websocket.application_state is WebSocketState.CONNECTED:
                await websocket.close(*CLOSE_INTERNAL)
            if hub.error_policy == "raise":
                raise exc from None
            return False
    state = websocket.application_state
    if state is WebSocketState.DISCONNECTED:
        hub.stats.refused += 1
        return False
    if state is WebSocketState.CONNECTING:
        offered = websocket.scope.get("subprotocols") or ()
        wanted = protocol.subprotocol
        await websocket.accept(subprotocol=wanted if wanted in offered else None)
    return True
