"""The sync test kit, on Starlette's ``TestClient``: the same sockets, from blocking code.

:class:`HubClient` enters a ``TestClient`` (so the app's lifespan runs once, on the
client's event loop) and opens :class:`TestSocket` connections on that loop.  Each
``TestSocket`` method runs the matching :class:`~sockethub.testing.AsyncTestSocket` method
through the client's portal, so both kits behave alike to the letter.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ..frames import Frame, ProtocolName, Reply
from .asgi import open_socket
from .socket import ANY, DEFAULT_TIMEOUT, AsyncTestSocket

if TYPE_CHECKING:
    from starlette.testclient import TestClient

__all__ = ["HubClient", "TestSocket"]

P = ParamSpec("P")
T = TypeVar("T")


class TestSocket:
    """One WebSocket connection for blocking tests; see :class:`AsyncTestSocket`, whose
    methods these are (same arguments, same results, same errors)."""

    __test__ = False  # not a pytest test class

    def __init__(self, client: HubClient, sock: AsyncTestSocket) -> None:
        self._client = client
        self.sock = sock
        """The underlying :class:`AsyncTestSocket`."""

    def _call(self, func: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._client.call(func, *args, **kwargs)

    @property
    def joined(self) -> dict[str, str]:
        """Topic -> join ref of every topic joined and not left."""
        return self.sock.joined

    @property
    def accepted_subprotocol(self) -> str | None:
        """The subprotocol the server accepted with."""
        return self.sock.accepted_subprotocol

    def send_text(self, data: str) -> None:
        """Send one text frame as it is."""
        self._call(self.sock.send_text, data)

    def send_bytes(self, data: bytes) -> None:
        """Send one binary frame as it is."""
        self._call(self.sock.send_bytes, data)

    def receive_raw(self, timeout: float | None = None) -> str | bytes:
        """The next frame as the server sent it."""
        return self._call(self.sock.receive_raw, timeout)

    def receive_text(self, timeout: float | None = None) -> str:
        """The next frame, which must be text."""
        return self._call(self.sock.receive_text, timeout)

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The next frame, which must be binary."""
        return self._call(self.sock.receive_bytes, timeout)

    def receive_json(self, timeout: float | None = None) -> Any:
        """The next text frame, parsed as JSON."""
        return self._call(self.sock.receive_json, timeout)

    def send_json(self, value: Any) -> None:
        """Send ``value`` as one compact JSON text frame."""
        self._call(self.sock.send_json, value)

    def receive(self, timeout: float | None = None) -> Frame:
        """The next frame, decoded."""
        return self._call(self.sock.receive, timeout)

    def send(
        self,
        topic: str,
        event: str,
        payload: Any = None,
        *,
        ref: str | None = None,
        join_ref: str | None = None,
    ) -> None:
        """Send ``event`` to ``topic`` without waiting for anything."""
        self._call(self.sock.send, topic, event, payload, ref=ref, join_ref=join_ref)

    def request(
        self, topic: str, event: str, payload: Any = None, *, timeout: float | None = None
    ) -> Reply:
        """Send ``event`` with a ref; return the reply, ok or error."""
        return self._call(self.sock.request, topic, event, payload, timeout=timeout)

    def push(
        self, topic: str, event: str, payload: Any = None, *, timeout: float | None = None
    ) -> Any:
        """Send ``event``; return the reply's response or raise ``PushError``."""
        return self._call(self.sock.push, topic, event, payload, timeout=timeout)

    def join(
        self,
        topic: str,
        payload: Any = None,
        *,
        ref: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Join ``topic``; return the join reply's response or raise ``JoinError``."""
        return self._call(self.sock.join, topic, payload, ref=ref, timeout=timeout)

    def leave(self, topic: str, *, timeout: float | None = None) -> Any:
        """Leave ``topic``; return the reply's response."""
        return self._call(self.sock.leave, topic, timeout=timeout)

    def expect(
        self,
        topic: str | None = ANY,
        event: str = ANY,
        payload: Any = ANY,
        *,
        timeout: float | None = None,
    ) -> Frame:
        """The next frame, which must have this topic, event and payload."""
        return self._call(self.sock.expect, topic, event, payload, timeout=timeout)

    def expect_error(self, code: int | None = None, *, timeout: float | None = None) -> Reply:
        """The next frame, which must be an error (with ``code``)."""
        return self._call(self.sock.expect_error, code, timeout=timeout)

    def assert_nothing_pending(self, *, timeout: float | None = None) -> None:
        """Fail unless no frame is waiting, proven by a round trip."""
        self._call(self.sock.assert_nothing_pending, timeout=timeout)

    def wait_closed(self, timeout: float | None = None) -> tuple[int, str]:
        """Wait for the server's close; return ``(code, reason)``."""
        return self._call(self.sock.wait_closed, timeout)

    def close(self, code: int = 1000) -> None:
        """Disconnect and wait for the app to finish with the connection."""
        self._call(self.sock.close, code)

    def abort(self, code: int = 1006) -> None:
        """Disconnect and cancel the app's task at once (see ``AsyncTestSocket.abort``)."""
        self._call(self.sock.abort, code)

    def __enter__(self) -> TestSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HubClient:
    """A blocking test client for apps built on sockethub, on Starlette's ``TestClient``.

    ::

        with HubClient(app) as client, client.connect("/ws", protocol="phoenix") as ws:
            assert ws.join("room:1") == {}
            client.publish(hub, "room:1", "news", {"n": 1})
            ws.expect("room:1", "news", {"n": 1})
            ws.assert_nothing_pending()

    ``app`` is an ASGI app (a ``TestClient`` is made and entered) or a ``TestClient``
    (entered here if it is not already; then left by whoever entered it).  ``http``
    is the ``TestClient``, for the app's plain HTTP routes.
    """

    def __init__(self, app: Any, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        try:
            from starlette.testclient import TestClient
        except (ImportError, RuntimeError) as exc:  # its HTTP client is not installed
            raise ImportError(
                f"HubClient runs on Starlette's TestClient: {exc}"
                "(AsyncHubClient, the in-process kit, needs nothing more)"
            ) from exc
        self.http: TestClient = app if isinstance(app, TestClient) else TestClient(app)
        self.timeout = timeout
        """The default timeout of the sockets this client opens."""
        self._entered = False
        self._sockets: list[TestSocket] = []

    def __enter__(self) -> HubClient:
        if getattr(self.http, "portal", None) is None:
            self.http.__enter__()
            self._entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for sock in self._sockets:
                sock.close()
        finally:
            self._sockets.clear()
            if self._entered:
                self._entered = False
                self.http.__exit__(None, None, None)

    def call(self, func: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``await func(*args, **kwargs)`` on the app's event loop; return its result."""
        portal = getattr(self.http, "portal", None)
        if portal is None:
            raise RuntimeError("enter the HubClient first: `with HubClient(app) as client:`")
        return portal.call(functools.partial(func, *args, **kwargs))  # type: ignore[no-any-return]

    def connect(
        self,
        path: str,
        *,
        protocol: ProtocolName = "envelope",
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        subprotocols: Iterable[str] = (),
        timeout: float | None = None,
    ) -> TestSocket:
        """Open a WebSocket at ``path``; see :func:`~sockethub.testing.open_socket`.

        A refused handshake raises :class:`~sockethub.frames.ConnectRefused`.
        """
        sock = self.call(
            open_socket,
            self.http.app,  # type: ignore[arg-type]
            path,
            protocol=protocol,
            query=query,
            headers=headers,
            subprotocols=subprotocols,
            state=self.http.app_state,
            timeout=self.timeout if timeout is None else timeout,
        )
        wrapped = TestSocket(self, sock)
        self._sockets.append(wrapped)
        return wrapped

    def publish(self, hub: Any, topic: str, event: str, payload: Any = None) -> None:
        """Publish from the server side, as the app would (``hub.publish``)."""
        self.call(hub.publish, topic, event, payload)
