"""The test kit against a running server (uvicorn, hypercorn...): the same socket, over TCP.

:func:`connect_served` opens a :class:`ServedTestSocket`, an
:class:`~sockethub.testing.AsyncTestSocket` whose frames travel over a real WebSocket
(the ``websockets`` library) instead of in-process ASGI messages.  Every method (join,
push, expect, ``assert_nothing_pending``...) behaves as in-process.  For services and bots
that must survive reconnects, use :mod:`sockethub.client` instead.

Needs the ``websockets`` package: ``pip install "sockethub[client]"``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

try:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.typing import Subprotocol
except ImportError as exc:  # pragma: no cover - the client's tests check this message
    raise ImportError(
        'sockethub.testing.served needs the websockets package: pip install "sockethub[client]"'
    ) from exc

from ..frames import ClientWire, ConnectRefused, ProtocolName, ReplyTimeout, wire_for
from .socket import DEFAULT_TIMEOUT, AsyncTestSocket, Disconnected

__all__ = ["ServedTestSocket", "connect_served"]


class ServedTestSocket(AsyncTestSocket):
    """An :class:`~sockethub.testing.AsyncTestSocket` over a network connection.

    ``connection`` is the underlying ``websockets`` connection.  :meth:`close` closes it
    cleanly; :meth:`abort` drops the TCP connection without a closing handshake.
    """

    def __init__(self, connection: ClientConnection, wire: ClientWire, timeout: float):
        super().__init__(wire, timeout)
        self.connection = connection
        """The ``websockets`` client connection."""
        self.accepted_subprotocol = connection.subprotocol

    async def send_text(self, data: str) -> None:
        """Send one text frame as it is."""
        await self.connection.send(data)

    async def send_bytes(self, data: bytes) -> None:
        """Send one binary frame as it is."""
        await self.connection.send(data)

    async def _raw(self, timeout: float | None, what: str) -> str | bytes:
        if self.close_code is not None:
            raise Disconnected(self.close_code, self.close_reason)
        seconds = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(self.connection.recv(), seconds)
        except TimeoutError:
            raise ReplyTimeout(f"no {what} within {seconds}s; kept: {self._kept}") from None
        except ConnectionClosed as closed:
            frame = closed.rcvd
            self.close_code = frame.code if frame is not None else 1006
            self.close_reason = frame.reason if frame is not None else ""
            raise Disconnected(self.close_code, self.close_reason) from None

    async def close(self, code: int = 1000, *, timeout: float | None = None) -> None:
        """Close the connection with ``code`` (the closing handshake included)."""
        await self.connection.close(code)

    async def abort(self, code: int = 1006) -> None:
        """Drop the TCP connection at once, as a vanished client would."""
        self.connection.transport.abort()
        await self.connection.wait_closed()


async def connect_served(
    url: str,
    *,
    protocol: ProtocolName = "envelope",
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    subprotocols: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    **options: Any,
) -> ServedTestSocket:
    """Connect to a running server at ``url`` (``ws://host:port/path?query``).

    The arguments are :func:`~sockethub.testing.open_socket`'s; ``options`` go to
    ``websockets.asyncio.client.connect`` (``max_size``, ``compression``...).  A refused
    handshake raises :class:`~sockethub.frames.ConnectRefused` with the HTTP status.
    """
    wire = wire_for(protocol)
    split = urlsplit(url)
    extra = {k: v for k, v in wire.query.items() if f"{k}=" not in split.query}
    extra.update(query or {})
    if extra:
        joined = "&".join(q for q in (split.query, urlencode(extra)) if q)
        url = urlunsplit(split._replace(query=joined))
    try:
        connection = await connect(
            url,
            additional_headers=dict(headers or {}) or None,
            subprotocols=[Subprotocol(s) for s in subprotocols] or None,
            open_timeout=timeout,
            **options,
        )
    except InvalidStatus as exc:
        body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
        raise ConnectRefused(None, body, status=exc.response.status_code) from exc
    return ServedTestSocket(connection, wire, timeout)
