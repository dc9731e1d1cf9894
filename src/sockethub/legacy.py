"""The deprecated 0.1 managed mode of ``WebSocketRoute`` (deprecated in 0.2, removed in 0.3).

In 0.1 a ``WebSocketRoute`` became "managed" when the app called ``channel``,
``on_connect``, ``on_disconnect`` or ``handler`` on it.  Those calls keep working: the
first one builds a :class:`~sockethub.SocketHub` behind the scenes (error policy
``"raise"``, the 0.1 envelope protocol), every later one configures it, and the route
serves its connections through that hub.  There is one implementation of join / leave /
dispatch (``session.py``); this module only translates the 0.1 conventions:

* the hooks get the parameters declared by the handler's signature (path, then query
  string, converted by annotation) as keyword arguments: ``on_connect(sock, **params)``,
  ``on_disconnect(sock, **params)``; a missing or unconvertible one refuses the handshake
  exactly as the low-level route does;
* an exception in a callback closes the socket with 1011 and propagates to the server;
* mixing modes (``endpoint`` plus any managed call, or ``handler`` twice) raises
  ``RuntimeError`` at registration;
* every registration call warns once, with a :class:`SockethubDeprecationWarning` whose
  location is the app's line (never a line of sockethub) and whose message starts with
  :data:`MESSAGE_PREFIX`.

This module is a leaf: :class:`WebSocketRoute` here subclasses the low-level route of
:mod:`sockethub.lowlevel` and only overrides it; nothing in sockethub imports this module
but the re-export in :mod:`sockethub.websocket`, which is where 0.1 apps (and
``sockethub.WebSocketRoute``) get it.  Removing managed mode in 0.3 deletes this module
and ``legacy_tests/``, and turns that re-export into one of the low-level route (the
warning category lives in ``errors.py`` and stays, so filters that name it keep
importing).  ``tests/test_facade_removal.py`` rehearses that deletion.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar, cast

from starlette.types import Receive, Scope, Send

from .bus.base import SocketBus
from .channel import Channel, require_async
from .errors import RejectError, SockethubDeprecationWarning
from .handshake import refuse
from .hub import SocketHub
from .lowlevel import WebSocketEndpoint
from .lowlevel import WebSocketRoute as LowLevelRoute
from .params import ParamError, ParamPlan
from .protocols.envelope import EnvelopeProtocol
from .routing import MiddlewareLike
from .socket import ISocket

__all__ = [
    "DEPRECATED_IN",
    "MESSAGE_PREFIX",
    "REMOVED_IN",
    "SockethubDeprecationWarning",
    "WSManagedEndpoint",
    "WebSocketRoute",
]

DEPRECATED_IN: Final = "0.2"
REMOVED_IN: Final = "0.3"
MESSAGE_PREFIX: Final = "sockethub 0.1 API: "
"""Every managed-mode warning message starts with this text (stable: filter on it)."""

F = TypeVar("F", bound=Callable[..., Any])
HookF = TypeVar("HookF", bound=Callable[..., Awaitable[None]])

_PARAMS_KEY: Final = "sockethub.legacy.params"
_PACKAGE_DIR: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep
_ENVELOPE: Final = EnvelopeProtocol()
_MIGRATE: Final = (
    'Run `sockethub-migrate PATH` (pip install "sockethub[codemod]") to rewrite this '
    "code; see MIGRATION.md."
)


def warn_deprecated(what: str, replacement: str) -> None:
    """Warn that ``what`` is deprecated, blaming the first caller outside sockethub.

    The ``deprecation`` package's own decorator uses a fixed ``stacklevel``, which blames
    sockethub whenever the deprecated call is reached through another sockethub frame (a
    decorator factory, ``include_subroutes`` calling ``merge``); walking the stack finds
    the app's line in every case.
    """
    frame = sys._getframe()
    level = 1
    while frame.f_back is not None and _is_ours(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warning = SockethubDeprecationWarning(
        MESSAGE_PREFIX + what, DEPRECATED_IN, REMOVED_IN, f"{replacement} {_MIGRATE}"
    )
    warnings.warn(warning, stacklevel=level)


def _is_ours(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


async def _no_handler() -> None:
    """Stands in for the 0.1 handler of a managed route that has none (it never runs)."""


class WSManagedEndpoint(WebSocketEndpoint):
    """The endpoint of a managed 0.1 route: ``route.ws_endpoint`` of such a route.

    Deprecated with managed mode: in 0.2 an app that checked
    ``isinstance(route.ws_endpoint, WSManagedEndpoint)`` checks ``isinstance(route,
    SocketHub)``.  It is a real class (a ``WebSocketEndpoint``), so ``isinstance`` keeps
    working; constructing one is internal to the facade.

    It owns the hidden :class:`~sockethub.SocketHub` (``hub``) that serves every
    connection of the route, the 0.1 handler whose signature declares the hooks'
    parameters (``func``; never called), and the 0.1 hooks.
    """

    def __init__(self, path: str, *, bus: SocketBus | None = None) -> None:
        super().__init__(_no_handler)
        self.has_handler = False
        self.on_connect_hook: Callable[..., Awaitable[None]] | None = None
        self.on_disconnect_hook: Callable[..., Awaitable[None]] | None = None
        self.hub = SocketHub(
            path,
            bus=bus,
            error_policy="raise",
            protocol=_ENVELOPE,
            per_join_sockets=False,
            ordering="connection",
        )
        self.hub.on_connect(self._connect)
        self.hub.on_disconnect(self._disconnect)

    def set_handler(self, func: Callable[..., Any]) -> None:
        """Declare the hooks' parameters by ``func``'s signature (``TypeError`` if an
        annotation is not ISocket, WebSocket, str, int, float or bool)."""
        self.plan = ParamPlan(func)
        self.func = func
        self.has_handler = True

    def copy(self, path: str) -> WSManagedEndpoint:
        """A copy for ``route.merge``: same handler, hooks and channels (as they are now;
        the callbacks of those channels are shared), same bus."""
        copy = WSManagedEndpoint(path, bus=self.hub.bus)
        copy.hub.include(self.hub)
        copy.func, copy.plan, copy.has_handler = self.func, self.plan, self.has_handler
        copy.on_connect_hook = self.on_connect_hook
        copy.on_disconnect_hook = self.on_disconnect_hook
        return copy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.hub.serve(scope, receive, send)

    # -- the hub's hooks, calling the 0.1 ones with 0.1's arguments ----------------------

    async def _connect(self, sock: ISocket) -> None:
        try:
            params = self.plan.values(sock)
        except ParamError as exc:
            await refuse(sock.websocket, str(exc), status=400, close_code=1008)
            raise RejectError(str(exc)) from None
        sock.scope[_PARAMS_KEY] = params
        if self.on_connect_hook is not None:
            await self.on_connect_hook(sock, **params)

    async def _disconnect(self, sock: ISocket) -> None:
        if self.on_disconnect_hook is not None:
            await self.on_disconnect_hook(sock, **sock.scope.get(_PARAMS_KEY, {}))


class WebSocketRoute(LowLevelRoute):
    """The low-level route (:class:`sockethub.lowlevel.WebSocketRoute`: ``endpoint``,
    ``sub``, ``merge``, origins) plus the deprecated 0.1 managed mode.

    ``channel``, ``on_connect``, ``on_disconnect`` and ``handler`` make the route managed:
    each call warns once (a :class:`SockethubDeprecationWarning` at the app's line) and
    configures the route's hidden hub; none of them calls another deprecated method.
    Children made by ``sub`` and merged copies are routes of this class, so they can be
    managed too.
    """

    _ws_managed: WSManagedEndpoint | None = None

    # -- the 0.1 registration calls ----------------------------------------------------

    def channel(self, pattern: str) -> Channel:
        """Register and return the channel for ``pattern`` (deprecated: ``hub.channel``).

        The pattern is validated now (``ValueError``, also for a pattern with the same
        shape as one already registered on this route).
        """
        self._require_no_endpoint("channel")
        warn_deprecated(
            "WebSocketRoute.channel() (managed mode)",
            "Use `hub = SocketHub(path)` and `hub.channel(pattern)`.",
        )
        return self._managed().hub.channel(pattern)

    def on_connect(self, func: HookF) -> HookF:
        """Register ``async def on_connect(sock, **params)`` (deprecated: ``hub.on_connect``).

        Runs before the handshake is accepted, with the handler's declared parameters as
        keyword arguments; ``await sock.allow_if(cond, code, reason)`` refuses the
        connection; an exception refuses it and propagates to the server.
        """
        self._require_no_endpoint("on_connect")
        require_async(func, "on_connect hook")
        warn_deprecated(
            "WebSocketRoute.on_connect() (managed mode)",
            "Use `@hub.on_connect` on a SocketHub; the hook gets only `sock` "
            "(read sock.path_params / sock.query_params).",
        )
        self._managed().on_connect_hook = func
        return func

    def on_disconnect(self, func: HookF) -> HookF:
        """Register ``async def on_disconnect(sock, **params)`` (deprecated:
        ``hub.on_disconnect``).

        Runs once when an accepted connection ends, after ``on_exit`` ran for every
        joined topic, with the same keyword arguments as ``on_connect``.  An exception is
        logged.
        """
        self._require_no_endpoint("on_disconnect")
        require_async(func, "on_disconnect hook")
        warn_deprecated(
            "WebSocketRoute.on_disconnect() (managed mode)",
            "Use `@hub.on_disconnect` on a SocketHub; the hook gets only `sock`.",
        )
        self._managed().on_disconnect_hook = func
        return func

    def handler(self, func: F) -> F:
        """Declare the hooks' parameters by ``func``'s signature; returns ``func``.

        ``func`` is never called.  Optional since 0.2 (deprecated: a SocketHub needs no
        handler).  A second call raises ``RuntimeError``.
        """
        self._require_no_endpoint("handler")
        managed = self._ws_managed
        if managed is not None and managed.has_handler:
            raise RuntimeError(f"route {self.path!r} already has a handler")
        warn_deprecated(
            "WebSocketRoute.handler() (managed mode)",
            "Delete the handler: a SocketHub needs none; hooks read sock.path_params "
            "and sock.query_params.",
        )
        self._managed().set_handler(func)
        return func

    def include_subroutes(self, *routes: LowLevelRoute, parent_prefix: str | None = None) -> None:
        """The old name of ``merge`` (deprecated since 0.1)."""
        warn_deprecated(
            "WebSocketRoute.include_subroutes() (an alias of merge)",
            "Use `route.merge(...)`; for a SocketHub, `hub.include(other_hub)` or a "
            "Starlette Mount.",
        )
        self.merge(*routes, parent_prefix=parent_prefix)

    # -- the low-level route, extended -------------------------------------------------

    def register_endpoint(self, func: F) -> F:
        """Register the async function that drives each connection; returns ``func``
        (``@route.endpoint``).

        ``RuntimeError`` on a managed route (the modes do not mix)."""
        if self._ws_managed is not None:
            raise RuntimeError(
                f"route {self.path!r} is a managed route (channel / on_connect / "
                "on_disconnect / handler was called on it): endpoint() cannot be mixed with it"
            )
        return super().register_endpoint(func)

    @property
    def ws_endpoint(self) -> WebSocketEndpoint | None:
        """The endpoint object serving this route, if any: a :class:`WSManagedEndpoint`
        on a managed route."""
        managed = self._ws_managed
        return managed if managed is not None else super().ws_endpoint

    def sub(self, path: str) -> WebSocketRoute:
        # The same child as the low-level route's, typed as one that can be managed.
        return cast("WebSocketRoute", super().sub(path))

    def copy_under(self, parent: str, *, strip: str = "") -> WebSocketRoute:
        """A copy as the low-level route makes it, with this route's managed endpoint
        (handler, hooks, channels) copied too."""
        copy = cast("WebSocketRoute", super().copy_under(parent, strip=strip))
        if self._ws_managed is not None:
            copy._ws_managed = self._ws_managed.copy(copy.path)
        return copy

    def _new_route(
        self,
        path: str,
        *,
        name: str | None = None,
        middlewares: Sequence[MiddlewareLike] | None = None,
    ) -> WebSocketRoute:
        return WebSocketRoute(path, name=name, middlewares=middlewares)

    # -- internals -------------------------------------------------------------------------

    def _require_no_endpoint(self, what: str) -> None:
        if super().ws_endpoint is not None:
            raise RuntimeError(
                f"route {self.path!r} has an endpoint(): {what}() belongs to the managed "
                "mode and cannot be mixed with it"
            )

    def _managed(self) -> WSManagedEndpoint:
        managed = self._ws_managed
        if managed is None:
            managed = self._ws_managed = WSManagedEndpoint(self.path)
        return managed
