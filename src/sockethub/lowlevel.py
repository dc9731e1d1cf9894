"""The low-level WebSocketRoute: one async function drives one socket.

Apps import these names from :mod:`sockethub` or :mod:`sockethub.websocket` (the 0.1
import path); this module is where they are defined.  It knows nothing of channels or
buses (that is :class:`~sockethub.SocketHub`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, overload

from starlette import routing as starlette_routing
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .channel import require_async
from .errors import RejectError
from .handshake import OriginPolicy, refuse
from .params import ParamError, ParamPlan
from .routing import MiddlewareLike, RouteBase
from .socket import ISocket

__all__ = [
    "EndpointSlot",
    "WebSocketEndpoint",
    "WebSocketRoute",
    "join_paths",
    "normalise_path",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def normalise_path(path: str) -> str:
    """A route path as 0.1 normalised it: spaces removed, a leading ``/`` added.

    ``"ws"`` is ``"/ws"``; ``""`` stays ``""`` (a route that only holds children).  A
    trailing ``/`` on a path longer than ``/`` raises :class:`ValueError`.
    """
    if not isinstance(path, str):
        raise TypeError(f"a route path is a str, got {path!r}")
    path = path.replace(" ", "")
    if path and not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        raise ValueError(f"a route path must not end with '/': {path!r}")
    return path


def join_paths(parent: str, child: str) -> str:
    """``parent`` + ``child`` without the parent's trailing ``/``: ``"/" + "/v1"`` is
    ``"/v1"``, ``"/ws" + "/v1"`` is ``"/ws/v1"``; a child ``"/"`` adds nothing."""
    if child == "/":
        child = ""
    return parent.rstrip("/") + child or "/"


class WebSocketEndpoint:
    """An ASGI app running one user function per connection.

    The function's parameters are filled by :class:`~sockethub.params.ParamPlan`; a
    missing or unconvertible value refuses the handshake (HTTP 400 where the server
    supports denial responses, else close 1008) with a reason naming the parameter, and
    the function never runs.  The function accepts and closes the socket itself.  An
    exception escaping it closes a still-open socket with 1011 and propagates to the
    server's log; a client disconnect (``WebSocketDisconnect``) is not an error, nor is a
    refusal by ``sock.allow_if`` (``RejectError``: the socket is already closed).
    """

    def __init__(self, func: Callable[..., Awaitable[Any]]) -> None:
        require_async(func, "WebSocket endpoint")
        self.func = func
        self.plan = ParamPlan(func)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        sock = ISocket(websocket)
        try:
            kwargs = self.plan.kwargs(sock)
        except ParamError as exc:
            await refuse(websocket, str(exc), status=400, close_code=1008)
            return
        try:
            await self.func(**kwargs)
        except (WebSocketDisconnect, RejectError):  # client gone / refused by allow_if
            pass
        except Exception:
            if websocket.application_state is WebSocketState.CONNECTED:
                await websocket.close(code=1011, reason="Internal Server Error")
            raise


class EndpointSlot:
    """``route.endpoint``: the decorator that registers a low-level route's function, and
    the ASGI app that serves the route where another route matched the connection.

    ``route.endpoint(func)`` (one argument) registers ``func`` and returns it, as in 0.1.
    ``await route.endpoint(scope, receive, send)`` serves a connection: the route's
    middlewares, origin policy and function, with the path parameters the matching route
    put in ``scope``.  Starlette's ``WebSocketRoute(path, route.endpoint)``, which is how
    FastAPI's ``include_router`` copies a route, therefore serves this route at ``path``.
    """

    __slots__ = ("route",)

    def __init__(self, route: WebSocketRoute) -> None:
        self.route = route

    @overload
    def __call__(self, func: F, /) -> F: ...

    @overload
    def __call__(self, scope: Scope, receive: Receive, send: Send, /) -> Awaitable[None]: ...

    def __call__(self, *args: Any) -> Any:
        if len(args) == 1:
            return self.route.register_endpoint(args[0])
        if len(args) == 3:
            return self.route.handle(*args)
        raise TypeError(
            "route.endpoint takes one async function (to register it) or the three ASGI "
            f"arguments (to serve a connection), got {len(args)} arguments"
        )

    def __repr__(self) -> str:
        return f"EndpointSlot({self.route!r})"


class WebSocketRoute(RouteBase, starlette_routing.WebSocketRoute):
    """A route whose connections are each driven by one async function.

    ::

        route = WebSocketRoute("/ws/echo/{room}")

        @route.endpoint
        async def echo(sock: ISocket, room: str, shout: bool = False) -> None:
            await sock.accept()
            async for text in sock.websocket.iter_text():
                await sock.send_text(text.upper() if shout else text)

    ``allowed_origins`` / ``allow_missing_origin`` work as on the hub: a browser
    handshake from an origin not listed is refused with HTTP 403 (close 1008 where the
    server cannot send a response) before the function runs.  Default: every origin, as
    in 0.1; set it on any route a browser reaches, since a WebSocket is not covered by
    the browser's same-origin policy (cross-site WebSocket hijacking).  Child routes
    (``sub``) and merged copies keep the policy of the route they are created from.

    Paths are normalised as in 0.1 (:func:`normalise_path`); ``sub`` and ``merge`` join
    paths with :func:`join_paths`.

    It is also a Starlette ``WebSocketRoute`` (``route.endpoint`` is its ASGI app, see
    :class:`EndpointSlot`), so FastAPI's ``APIRouter`` + ``include_router(prefix=...)``
    copies it with the prefix; a copy serves this route only, not its ``sub`` children
    (include those too, or put the tree in a ``Mount``).

    For channels, hooks and a pub/sub bus use :class:`~sockethub.SocketHub` instead.
    """

    # Routes are identified by identity, not by Starlette's (path, endpoint) equality.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __init__(
        self,
        path: str = "",
        *,
        name: str | None = None,
        middlewares: Sequence[MiddlewareLike] | None = None,
        allowed_origins: Iterable[str] | None = None,
        allow_missing_origin: bool = True,
    ) -> None:
        super().__init__(normalise_path(path), name=name, middlewares=middlewares)
        self._endpoint: WebSocketEndpoint | None = None
        self._origin_policy = OriginPolicy(allowed_origins, allow_missing_origin)
        self.endpoint = EndpointSlot(self)
        """``@route.endpoint`` registers the function; see :class:`EndpointSlot`."""

    def register_endpoint(self, func: F) -> F:
        """Register the async function that drives each connection; returns ``func``
        (what ``@route.endpoint`` does)."""
        if self._endpoint is not None:
            raise RuntimeError(f"route {self.path!r} already has an endpoint")
        self._endpoint = WebSocketEndpoint(func)
        self.reset()
        return func

    @property
    def ws_endpoint(self) -> WebSocketEndpoint | None:
        """The endpoint object serving this route, if any."""
        return self._endpoint

    def default_name(self) -> str:
        endpoint = self._endpoint
        if endpoint is not None:
            return getattr(endpoint.func, "__name__", self.path_format)
        return self.path_format

    def has_endpoint(self) -> bool:
        return self.ws_endpoint is not None

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.ws_endpoint
        if endpoint is None:
            raise RuntimeError(
                f"WebSocketRoute {self.path!r} has no endpoint: register one with "
                "@route.endpoint, or use SocketHub for channels"
            )
        if self._origin_policy.origins is not None and not await self._origin_policy.check(
            WebSocket(scope, receive, send)
        ):
            return
        await endpoint(scope, receive, send)

    # -- composition -----------------------------------------------------------------

    def _new_route(
        self,
        path: str,
        *,
        name: str | None = None,
        middlewares: Sequence[MiddlewareLike] | None = None,
    ) -> WebSocketRoute:
        """A new route without endpoint or children: what :meth:`sub` and :meth:`merge`
        add as children.  A plain ``WebSocketRoute`` (not ``type(self)``, whose
        constructor may take other arguments); a subclass whose children must be of its
        own kind overrides this."""
        return WebSocketRoute(path, name=name, middlewares=middlewares)

    def sub(self, path: str) -> WebSocketRoute:
        """The child route at ``join_paths(self.path, path)``: the existing one if this
        route already has a child there, else a new one.  Connections to it pass through
        this route's middlewares (then the child's own)."""
        full = join_paths(self.path, normalise_path(path))
        for child in self.children:
            if isinstance(child, WebSocketRoute) and child.path == full:
                return child
        child = self._new_route(full)
        child._origin_policy = self._origin_policy
        self.children.append(child)
        return child

    def merge(self, *routes: WebSocketRoute, parent_prefix: str | None = None) -> None:
        """Add a copy of each of ``routes`` (and of its children) as a child of this route.

        The copy's path is this route's path joined with ``route.path``, from which
        ``parent_prefix`` is removed first when given:
        ``WebSocketRoute("/ws").merge(WebSocketRoute("/ws/v1"), parent_prefix="/ws")``
        serves ``/ws/v1``; without ``parent_prefix`` it serves ``/ws/ws/v1``.  Merging
        twice adds two copies.
        """
        for route in routes:
            self.children.append(route.copy_under(self.path, strip=parent_prefix or ""))

    def copy_under(self, parent: str, *, strip: str = "") -> WebSocketRoute:
        """A copy of this route (endpoint, middlewares, children) at
        ``join_paths(parent, self.path.removeprefix(strip))``; its children are copied the
        same way under the copy, with this route's path as the part they drop."""
        path = join_paths(parent, self.path.removeprefix(strip)) if self.path else parent
        copy = self._new_route(path, name=self._name, middlewares=self.middlewares)
        copy._endpoint = self._endpoint
        copy._origin_policy = self._origin_policy
        copy.children = [child_copy(child, copy.path, self.path) for child in self.children]
        return copy


def child_copy(child: RouteBase, parent: str, strip: str) -> RouteBase:
    if isinstance(child, WebSocketRoute):
        return child.copy_under(parent, strip=strip)
    raise TypeError(f"cannot merge a child route of type {type(child).__name__}")
