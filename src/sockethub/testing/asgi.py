"""The in-process test kit: drive an ASGI app's WebSockets from a test, with no server.

:class:`AsyncHubClient` runs the app's lifespan; :meth:`AsyncHubClient.connect` opens an
:class:`InProcessSocket`, one connection driven through ASGI messages on the running
event loop (the role of Django Channels' ``WebsocketCommunicator``).  The sync kit
(:mod:`sockethub.testing.sync`) runs these same objects on Starlette's ``TestClient``.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..frames import ClientWire, ConnectRefused, ProtocolName, ReplyTimeout, wire_for
from .socket import DEFAULT_TIMEOUT, AsyncTestSocket, Disconnected

__all__ = ["AsyncHubClient", "InProcessSocket", "open_socket", "websocket_scope"]

ASGIMessage = dict[str, Any]
ASGIApp = Callable[
    [
        dict[str, Any],
        Callable[[], Awaitable[ASGIMessage]],
        Callable[[ASGIMessage], Awaitable[None]],
    ],
    Awaitable[None],
]


def _headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def websocket_scope(
    path: str,
    *,
    wire: ClientWire,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    subprotocols: Iterable[str] = (),
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ASGI scope of a WebSocket handshake to ``path`` (which may carry a query)."""
    split = urlsplit(path)
    params = [*parse_qsl(split.query, keep_blank_values=True)]
    given = {k for k, _ in params}
    params += [(k, v) for k, v in (query or {}).items()]
    params += [(k, v) for k, v in wire.query.items() if k not in given and k not in (query or {})]
    offered = list(subprotocols)
    raw_headers = [(b"host", b"testserver"), (b"connection", b"upgrade")]
    raw_headers += [(b"sec-websocket-key", b"testserver=="), (b"sec-websocket-version", b"13")]
    if offered:
        raw_headers.append((b"sec-websocket-protocol", ", ".join(offered).encode("latin-1")))
    raw_headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in _headers(headers)
    ]
    scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": split.path or "/",
        "raw_path": (split.path or "/").encode("utf-8"),
        "root_path": "",
        "query_string": urlencode(params).encode("latin-1"),
        "headers": raw_headers,
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
        "subprotocols": offered,
        "extensions": {"websocket.http.response": {}},
    }
    if state is not None:
        scope["state"] = dict(state)
    return scope


class InProcessSocket(AsyncTestSocket):
    """An :class:`~sockethub.testing.AsyncTestSocket` on an ASGI app run in this process
    (see :func:`open_socket`).

    The app's exception, if it raises one, is raised in the test when the socket next
    waits, and at :meth:`close`.
    """

    def __init__(self, app: ASGIApp, scope: dict[str, Any], wire: ClientWire, timeout: float):
        super().__init__(wire, timeout)
        self.scope = scope
        """The ASGI scope the app saw."""
        self._to_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._from_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._closed = False
        self._app = app
        self._task: asyncio.Task[None] | None = None

    # -- handshake ------------------------------------------------------------------------

    async def _open(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._next_message(self.timeout, "the handshake's answer")
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            return
        self._closed = True
        if kind == "websocket.close":
            await self._finish()
            raise ConnectRefused(message.get("code", 1000), message.get("reason") or "")
        if kind == "websocket.http.response.start":
            body = b""
            while True:
                part = await self._next_message(self.timeout, "the refusal's body")
                body += part.get("body", b"")
                if not part.get("more_body", False):
                    break
            await self._finish()
            raise ConnectRefused(
                None, body.decode("utf-8", "replace"), status=int(message["status"])
            )
        raise AssertionError(f"unexpected ASGI message during the handshake: {message!r}")

    async def _run(self) -> None:
        await self._app(self.scope, self._to_app.get, self._from_app.put)

    async def _next_message(self, timeout: float | None, what: str) -> ASGIMessage:
        """The app's next ASGI message; the app's exception if it crashed instead."""
        task = self._task
        if task is None:
            raise Disconnected(self.close_code or 1006, "the app has finished")
        if self._from_app.empty() and task.done():
            self._reraise(task)
            raise Disconnected(self.close_code or 1006, "the app returned")
        getter = asyncio.ensure_future(self._from_app.get())
        try:
            done, _ = await asyncio.wait(
                {getter, task},
                timeout=self.timeout if timeout is None else timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        if task in done:
            self._reraise(task)
            raise Disconnected(self.close_code or 1006, "the app returned without closing")
        seconds = self.timeout if timeout is None else timeout
        raise ReplyTimeout(f"no {what} within {seconds}s; kept frames: {self._kept}")

    def _reraise(self, task: asyncio.Task[None]) -> None:
        # Raised once, in the test; close() then has nothing left to report.
        self._task = None
        task.result()

    # -- raw frames -------------------------------------------------------------------------

    async def send_text(self, data: str) -> None:
        """Send one text frame as it is."""
        await self._to_app.put({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send one binary frame as it is."""
        await self._to_app.put({"type": "websocket.receive", "bytes": data})

    async def _raw(self, timeout: float | None, what: str) -> str | bytes:
        if self.close_code is not None:
            raise Disconnected(self.close_code, self.close_reason)
        message = await self._next_message(timeout, what)
        if message["type"] == "websocket.close":
            self.close_code = int(message.get("code", 1000))
            self.close_reason = message.get("reason") or ""
            raise Disconnected(self.close_code, self.close_reason)
        if message["type"] != "websocket.send":
            raise AssertionError(f"unexpected ASGI message: {message!r}")
        text = message.get("text")
        return text if text is not None else bytes(message["bytes"])

    async def close(self, code: int = 1000, *, timeout: float | None = None) -> None:
        """Disconnect (as a client would) and wait for the app to finish with the connection.

        The app's own exception, if it raised one, is raised here.
        """
        if not self._closed:
            self._closed = True
            await self._to_app.put({"type": "websocket.disconnect", "code": code})
        await self._finish(timeout)

    async def abort(self, code: int = 1006) -> None:
        """Disconnect and cancel the app's task at once, as a server does with a
        connection whose client vanished (and as ``TestClient`` does when its session
        context exits): clean-up must then survive cancellation.  An exception other
        than the cancellation is raised here."""
        if not self._closed:
            self._closed = True
            await self._to_app.put({"type": "websocket.disconnect", "code": code})
        task, self._task = self._task, None
        if task is None:
            return
        await asyncio.sleep(0)  # let the app see the disconnect, as TestClient does
        task.cancel()
        with _suppress_cancelled():
            await task

    async def _finish(self, timeout: float | None = None) -> None:
        task = self._task
        if task is None:
            return
        self._task = None
        try:
            await asyncio.wait_for(
                asyncio.shield(task), self.timeout if timeout is None else timeout
            )
        except TimeoutError:
            task.cancel()
            with _suppress_cancelled():
                await task
            raise ReplyTimeout(
                "the app did not finish the connection after the disconnect"
            ) from None


class _suppress_cancelled:
    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> bool:
        return kind is asyncio.CancelledError


async def open_socket(
    app: ASGIApp,
    path: str,
    *,
    protocol: ProtocolName = "envelope",
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    subprotocols: Iterable[str] = (),
    state: dict[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> InProcessSocket:
    """Open a WebSocket to ``app`` at ``path`` (``"/ws?user=ann"`` works too).

    ``protocol`` picks the wire protocol (``"phoenix"`` adds ``vsn=2.0.0`` to the query
    unless given); ``query`` adds query parameters; ``headers`` and ``subprotocols`` go
    into the handshake; ``state`` is the lifespan state the app's requests see.  A refused
    handshake raises :class:`~sockethub.frames.ConnectRefused` with the close code and
    reason (or the HTTP status and body).
    """
    wire = wire_for(protocol)
    scope = websocket_scope(
        path, wire=wire, query=query, headers=headers, subprotocols=subprotocols, state=state
    )
    sock = InProcessSocket(app, scope, wire, timeout)
    await sock._open()
    return sock


class AsyncHubClient:
    """Run an ASGI app in-process for a test: its lifespan, and its WebSockets.

    ::

        async with AsyncHubClient(app) as client:
            async with await client.connect("/ws") as ws:
                assert await ws.join("room:1") is None
                await client.publish(hub, "room:1", "news", {"n": 1})
                await ws.expect("room:1", "news", {"n": 1})
                await ws.assert_nothing_pending()

    ``lifespan=False`` skips the lifespan (start the buses yourself).  Sockets left open
    are closed when the client exits, before the lifespan shuts down.
    """

    def __init__(
        self, app: Any, *, lifespan: bool = True, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.app: ASGIApp = app
        self.timeout = timeout
        """The default timeout of the sockets this client opens."""
        self.state: dict[str, Any] = {}
        """The lifespan state (what ``request.state``/``websocket.state`` start from)."""
        self._lifespan = lifespan
        self._sockets: list[InProcessSocket] = []
        self._life: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._from_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()

    async def connect(
        self,
        path: str,
        *,
        protocol: ProtocolName = "envelope",
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        subprotocols: Iterable[str] = (),
        timeout: float | None = None,
    ) -> InProcessSocket:
        """Open a WebSocket at ``path``; see :func:`open_socket` for the arguments."""
        sock = await open_socket(
            self.app,
            path,
            protocol=protocol,
            query=query,
            headers=headers,
            subprotocols=subprotocols,
            state=self.state,
            timeout=self.timeout if timeout is None else timeout,
        )
        self._sockets.append(sock)
        return sock

    async def publish(self, hub: Any, topic: str, event: str, payload: Any = None) -> None:
        """Publish from the server side, as the app would: ``await hub.publish(...)``."""
        await hub.publish(topic, event, payload)

    async def _lifespan_step(self, kind: str) -> None:
        await self._to_app.put({"type": f"lifespan.{kind}"})
        life = self._life
        assert life is not None
        getter = asyncio.ensure_future(self._from_app.get())
        done, _ = await asyncio.wait(
            {getter, life}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if getter not in done:
            getter.cancel()
            if life in done:
                life.result()
                raise RuntimeError(f"the app's lifespan returned during {kind}")
            raise ReplyTimeout(f"the app's lifespan {kind} did not finish in {self.timeout}s")
        message = getter.result()
        if message["type"] == f"lifespan.{kind}.failed":
            raise RuntimeError(f"lifespan {kind} failed: {message.get('message', '')}")

    async def __aenter__(self) -> AsyncHubClient:
        if self._lifespan:
            scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}

            async def run() -> None:
                await self.app(scope, self._to_app.get, self._from_app.put)

            self._life = asyncio.get_running_loop().create_task(run())
            await self._lifespan_step("startup")
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            for sock in self._sockets:
                await sock.close()
        finally:
            self._sockets.clear()
            if self._life is not None:
                await self._lifespan_step("shutdown")
                await self._life
                self._life = None
