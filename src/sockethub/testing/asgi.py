"""The in-process test kit: drive an ASGI app's WebSockets from a test, with no server.

:class:`AsyncHubClient` runs the app's lifespan; :meth:`AsyncHubClient.connect` opens an
:class:`AsyncTestSocket`, one connection driven through ASGI messages on the running
event loop (the role of Django Channels' ``WebsocketCommunicator``).  The sync kit
(:mod:`sockethub.testing.sync`) runs these same objects on Starlette's ``TestClient``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import types
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.websockets import WebSocketDisconnect

from ..frames import (
    ClientWire,
    ConnectRefused,
    Frame,
    JoinError,
    ProtocolName,
    PushError,
    Reply,
    ReplyTimeout,
    loads,
    wire_for,
)

__all__ = [
    "ANY",
    "DEFAULT_TIMEOUT",
    "PROBE_TOPIC",
    "AsyncHubClient",
    "AsyncTestSocket",
    "Disconnected",
    "open_socket",
]

ASGIMessage = dict[str, Any]
ASGIApp = Callable[
    [
        dict[str, Any],
        Callable[[], Awaitable[ASGIMessage]],
        Callable[[ASGIMessage], Awaitable[None]],
    ],
    Awaitable[None],
]

DEFAULT_TIMEOUT: Final = 10.0
"""Seconds to wait for an expected frame before failing (a deadlock guard: every wait ends
as soon as the frame arrives, so a passing test never waits this long)."""

PROBE_TOPIC: Final = "sockethub.testing:probe"
"""The topic the 0.1 envelope's absence probe writes to; never join it."""


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final[Any] = _Any()
"""Matches any value in :meth:`AsyncTestSocket.expect` (the default for ``payload``)."""


class Disconnected(WebSocketDisconnect):
    """The server closed the connection (``code``, ``reason``: its close frame).

    A Starlette ``WebSocketDisconnect``, as ``TestClient``'s sessions raise.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.reason: str = reason

    def __str__(self) -> str:
        return f"the server closed the connection: {self.code} {self.reason!r}"


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


class AsyncTestSocket:
    """One WebSocket connection to an ASGI app, driven in-process (see :func:`open_socket`).

    Every method that waits takes ``timeout`` (default: the socket's); a wait that runs out
    raises :class:`~sockethub.frames.ReplyTimeout` naming what it waited for.  Frames that
    arrive while a method waits for a reply are kept, in order, for :meth:`receive` and
    :meth:`expect`.  A server-side exception of the app is raised in the test when the
    socket next waits, and at :meth:`close`.
    """

    def __init__(self, app: ASGIApp, scope: dict[str, Any], wire: ClientWire, timeout: float):
        self.wire = wire
        """The protocol this socket speaks."""
        self.timeout = timeout
        """The default timeout of every wait, in seconds."""
        self.scope = scope
        """The ASGI scope the app saw."""
        self.accepted_subprotocol: str | None = None
        """The subprotocol the server accepted with."""
        self.joined: dict[str, str] = {}
        """Topic -> join ref of every topic this socket joined and has not left."""
        self.close_code: int | None = None
        """The close code the server sent, once it closed the connection."""
        self.close_reason: str = ""
        self._to_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._from_app: asyncio.Queue[ASGIMessage] = asyncio.Queue()
        self._kept: list[Frame] = []
        self._refs = itertools.count(1)
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

    async def receive_raw(self, timeout: float | None = None) -> str | bytes:
        """The next frame as the server sent it (text or bytes), kept frames first.

        Raises :class:`Disconnected` if the server closed the connection instead.
        """
        if self._kept:
            return self._kept.pop(0).raw
        return await self._raw(timeout, "frame")

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

    async def receive_text(self, timeout: float | None = None) -> str:
        """The next frame, which must be a text frame, as its text."""
        data = await self.receive_raw(timeout)
        if not isinstance(data, str):
            raise AssertionError(f"expected a text frame, got bytes {data!r}")
        return data

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The next frame, which must be a binary frame, as its bytes."""
        data = await self.receive_raw(timeout)
        if not isinstance(data, bytes):
            raise AssertionError(f"expected a binary frame, got text {data!r}")
        return data

    async def receive_json(self, timeout: float | None = None) -> Any:
        """The next text frame, parsed as strict JSON (what a browser's ``JSON.parse``
        accepts: no ``NaN``/``Infinity``, valid UTF-8); anything else fails the test."""
        text = await self.receive_text(timeout)
        try:
            return loads(text)
        except ValueError as exc:
            raise AssertionError(f"the server sent a frame browsers refuse: {exc}") from None

    async def send_json(self, value: Any) -> None:
        """Send ``value`` as one compact JSON text frame (as Starlette's ``send_json``)."""
        await self.send_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    async def _frame(self, timeout: float | None, what: str) -> Frame:
        data = await self._raw(timeout, what)
        try:
            return self.wire.decode(data)
        except (ValueError, IndexError) as exc:
            raise AssertionError(f"not a {self.wire.name} frame: {data!r}") from exc

    async def receive(self, timeout: float | None = None) -> Frame:
        """The next frame, decoded (kept frames first)."""
        if self._kept:
            return self._kept.pop(0)
        return await self._frame(timeout, "frame")

    # -- messages ---------------------------------------------------------------------------

    def next_ref(self) -> str:
        """A ref no earlier message of this socket used."""
        return str(next(self._refs))

    async def send(
        self,
        topic: str,
        event: str,
        payload: Any = None,
        *,
        ref: str | None = None,
        join_ref: str | None = None,
    ) -> None:
        """Send ``event`` to ``topic`` without waiting (no ``ref``: no reply is asked for).

        With Phoenix the message carries ``join_ref``, by default the topic's join ref.
        """
        join_ref = self.joined.get(topic) if join_ref is None else join_ref
        await self.send_text(self.wire.encode(topic, event, payload, ref, join_ref))

    async def request(
        self,
        topic: str,
        event: str,
        payload: Any = None,
        *,
        timeout: float | None = None,
        join_ref: str | None = None,
    ) -> Reply:
        """Send ``event`` with a fresh ref and return the server's reply, ok or error.

        Frames that arrive before the reply are kept for :meth:`receive`/:meth:`expect`.
        """
        ref = self.next_ref()
        join_ref = self.joined.get(topic) if join_ref is None else join_ref
        await self.send_text(self.wire.encode(topic, event, payload, ref, join_ref))
        what = f"reply to {event!r} on {topic!r} (ref {ref})"
        return await self._reply(topic, ref, join_ref, timeout, what)

    async def _reply(
        self, topic: str, ref: str, join_ref: str | None, timeout: float | None, what: str
    ) -> Reply:
        loop = asyncio.get_running_loop()
        wait = self.timeout if timeout is None else timeout
        deadline = loop.time() + wait
        while True:
            frame = await self._frame(max(0.0, deadline - loop.time()), what)
            reply = self.wire.reply(frame)
            if reply is not None and frame.ref == ref:
                if self.wire.name == "phoenix" and frame.join_ref != join_ref:
                    raise AssertionError(f"the {what} carries join_ref {frame.join_ref!r}")
                if frame.topic is not None and frame.topic != topic:
                    raise AssertionError(f"the {what} is for the topic {frame.topic!r}")
                return reply
            self._kept.append(frame)

    async def push(
        self, topic: str, event: str, payload: Any = None, *, timeout: float | None = None
    ) -> Any:
        """Send ``event`` and return the reply's response; raise
        :class:`~sockethub.frames.PushError` for an error reply."""
        reply = await self.request(topic, event, payload, timeout=timeout)
        if not reply.ok:
            raise PushError(topic, event, reply)
        return reply.response

    async def join(
        self,
        topic: str,
        payload: Any = None,
        *,
        ref: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Join ``topic`` (join params ``payload``) and return the join reply's response
        (what ``on_join`` returned; Phoenix sends ``{}`` for ``None``).  A refused join
        raises :class:`~sockethub.frames.JoinError` carrying the server's answer.
        ``ref``: the join's ref (and Phoenix join ref), by default a fresh one."""
        ref = self.next_ref() if ref is None else ref
        if payload is None and self.wire.name == "phoenix":
            payload = {}  # as phoenix.js sends join params
        frame = self.wire.encode(topic, self.wire.join_event, payload, ref, ref)
        await self.send_text(frame)
        reply = await self._reply(topic, ref, ref, timeout, f"join reply for {topic!r} (ref {ref})")
        if not reply.ok:
            raise JoinError(topic, self.wire.join_event, reply)
        self.joined[topic] = ref
        return reply.response

    async def leave(self, topic: str, *, timeout: float | None = None) -> Any:
        """Leave ``topic`` and return the reply's response.  With Phoenix the
        ``phx_close`` that follows the reply of a joined topic is awaited too."""
        join_ref = self.joined.pop(topic, None)
        reply = await self.request(
            topic, self.wire.leave_event, None, timeout=timeout, join_ref=join_ref
        )
        if not reply.ok:
            raise PushError(topic, self.wire.leave_event, reply)
        if self.wire.name == "phoenix" and join_ref is not None:
            await self.expect(topic, "phx_close", {}, timeout=timeout)
        return reply.response

    async def expect(
        self,
        topic: str | None = ANY,
        event: str = ANY,
        payload: Any = ANY,
        *,
        timeout: float | None = None,
    ) -> Frame:
        """Return the next frame, failing (``AssertionError``) unless it has this
        ``topic``, ``event`` and ``payload`` (each :data:`ANY` unless given).

        The *next* frame must match: a broadcast that arrives out of order fails the test.
        """
        want = f"topic={topic!r} event={event!r} payload={payload!r}"
        frame = self._kept.pop(0) if self._kept else await self._frame(timeout, f"frame {want}")
        for name, expected, actual in (
            ("topic", topic, frame.topic),
            ("event", event, frame.event),
            ("payload", payload, frame.payload),
        ):
            if expected is not ANY and expected != actual:
                raise AssertionError(f"expected a frame with {want}; {name} differs in {frame}")
        return frame

    async def expect_error(self, code: int | None = None, *, timeout: float | None = None) -> Reply:
        """Return the next frame as an error (the envelope's ``{"code", "reason"}`` frame,
        or Phoenix's error ``phx_reply``), failing unless it is one (with ``code``)."""
        frame = await self.receive(timeout)
        reply = self.wire.reply(frame) if frame.ref is not None else None
        if reply is None and frame.event == "error":
            reply = Reply(frame.topic, "error", frame.payload, frame)
        if reply is None and frame.event == "phx_reply" and isinstance(frame.payload, dict):
            reply = Reply(
                frame.topic, str(frame.payload.get("status")), frame.payload.get("response"), frame
            )
        if reply is None or reply.ok:
            raise AssertionError(f"expected an error frame, got {frame}")
        got = reply.response.get("code") if isinstance(reply.response, dict) else None
        if code is not None and got != code:
            raise AssertionError(f"expected error code {code}, got {frame}")
        return reply

    async def assert_nothing_pending(self, *, timeout: float | None = None) -> None:
        """Fail unless no frame is waiting for this socket, proven by a round trip.

        Frames to one socket leave in the order they were produced, and the server answers
        the probe (Phoenix: a heartbeat; the 0.1 envelope: a ref'd message to
        :data:`PROBE_TOPIC`, answered "Topic not found") at once, so its answer must be
        the very next frame.  Frames found before it fail the check and stay for
        :meth:`receive`/:meth:`expect`.  It says nothing of frames a callback still running
        will produce later.
        """
        if self._kept:
            raise AssertionError(f"frames pending: {self._kept}")
        ref = f"probe-{self.next_ref()}"
        beat = self.wire.heartbeat(ref)
        if beat is None:
            beat = self.wire.encode(PROBE_TOPIC, "probe", None, ref)
        await self.send_text(beat)
        while True:
            frame = await self._frame(timeout, "answer to the absence probe")
            if frame.ref == ref:
                break
            self._kept.append(frame)
        if self._kept:
            # They stay for receive()/expect(), in order.
            raise AssertionError(f"a frame was pending: {self._kept}")
        expected = (
            {"status": "ok", "response": {}}
            if self.wire.name == "phoenix"
            else {"code": 4404, "reason": "Topic not found"}
        )
        if frame.payload != expected:
            raise AssertionError(f"the absence probe was answered with {frame}")

    # -- the end ----------------------------------------------------------------------------

    async def wait_closed(self, timeout: float | None = None) -> tuple[int, str]:
        """Wait until the server closes the connection; return ``(code, reason)``.

        Fails if a frame arrives first.
        """
        if self._kept:
            raise AssertionError(f"expected the close, frames pending: {self._kept}")
        try:
            data = await self._raw(timeout, "close from the server")
        except Disconnected as closed:
            return closed.code, closed.reason
        raise AssertionError(f"expected the close, got the frame {data!r}")

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

    async def __aenter__(self) -> AsyncTestSocket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


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
) -> AsyncTestSocket:
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
    sock = AsyncTestSocket(app, scope, wire, timeout)
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
        self._sockets: list[AsyncTestSocket] = []
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
    ) -> AsyncTestSocket:
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
