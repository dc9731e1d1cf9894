"""RouteBase: what WebSocketRoute and SocketHub share as Starlette routes.

Path matching with Starlette's own compiler (``{name}``, ``{name:int}``, ...),
``url_path_for``, per-route ASGI middlewares, and child routes (``sub`` / ``merge``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

# Starlette's one private helper used here (the path relative to a Mount's root_path, as
# Starlette's own routes match it); tests/test_starlette_private.py pins it.
from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match, NoMatchFound, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MiddlewareLike", "RouteBase", "RouteEndpoint"]

#: A Starlette ``Middleware(cls, *args, **kwargs)`` entry or a plain ``app -> app`` factory.
MiddlewareLike = Middleware | Callable[[ASGIApp], ASGIApp]

_ROUTE_KEY = "sockethub.route"


class RouteEndpoint:
    """The ASGI app that serves a route's connections wherever another route matched them.

    A Starlette ``WebSocketRoute(path, RouteEndpoint(route))`` serves ``route`` at
    ``path``: its middlewares, then its endpoint, with the path parameters that ``path``
    matched.  FastAPI's ``include_router`` copies a hub this way (``hub.endpoint``).
    """

    __slots__ = ("route",)

    def __init__(self, route: RouteBase) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.route.handle(scope, receive, send)

    def __repr__(self) -> str:
        return f"RouteEndpoint({self.route!r})"


class RouteBase(BaseRoute):
    """A WebSocket route: a Starlette ``BaseRoute`` that serves ``websocket`` scopes.

    It goes into ``Starlette(routes=[...])``, ``Mount(..., routes=[...])`` and FastAPI's
    ``app.router.routes`` as is.  ``middlewares`` wrap this route only; the first is the
    outermost, as in Starlette.  Subclasses implement :meth:`serve`.
    """

    def __init__(
        self,
        path: str = "",
        *,
        name: str | None = None,
        middlewares: Sequence[MiddlewareLike] | None = None,
    ) -> None:
        if path and not path.startswith("/"):
            raise ValueError(f"Route path must start with '/', got {path!r}")
        self.path = path
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self._name = name
        self.middlewares: list[MiddlewareLike] = list(middlewares or [])
        self.children: list[RouteBase] = []
        self._app: ASGIApp | None = None

    # -- identity --------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The name for ``url_path_for``: the ``name=`` given, else :meth:`default_name`."""
        return self._name if self._name is not None else self.default_name()

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def default_name(self) -> str:
        return self.path_format

    def has_endpoint(self) -> bool:
        """Whether this route itself serves connections (not only its children)."""
        return True

    # -- Starlette's BaseRoute --------------------------------------------------------------

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "websocket":
            return Match.NONE, {}
        return self._match_path(get_route_path(scope), scope)

    def _match_path(self, route_path: str, scope: Scope) -> tuple[Match, Scope]:
        match = self.path_regex.match(route_path)
        if match is not None and (self.has_endpoint() or not self.children):
            params = {
                key: self.param_convertors[key].convert(value)
                for key, value in match.groupdict().items()
            }
            path_params = dict(scope.get("path_params", {}))
            path_params.update(params)
            return Match.FULL, {"endpoint": self, "path_params": path_params, _ROUTE_KEY: (self,)}
        for child in self.children:
            found, child_scope = child._match_path(route_path, scope)
            if found is Match.FULL:
                child_scope[_ROUTE_KEY] = (self, *child_scope[_ROUTE_KEY])
                return found, child_scope
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name == self.name and self.has_endpoint():
            expected = set(self.param_convertors)
            if set(path_params) == expected:
                path = self.path_format
                for key, value in path_params.items():
                    path = path.replace(
                        "{" + key + "}", self.param_convertors[key].to_string(value)
                    )
                return URLPath(path=path, protocol="websocket")
        for child in self.children:
            try:
                return child.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run this route's middlewares, then serve, or hand over to the matched child
        (whose own middlewares run inside this route's, as with Starlette's ``Mount``)."""
        app = self._app
        if app is None:
            app = self._app = self._build_app()
        await app(scope, receive, send)

    def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function returning what to await: one coroutine frame less for every
        # message of the connection to pass through.
        chain: tuple[RouteBase, ...] = scope.get(_ROUTE_KEY, ())
        for i, route in enumerate(chain[:-1]):
            if route is self:
                return chain[i + 1].handle(scope, receive, send)
        return self.serve(scope, receive, send)

    def _build_app(self) -> ASGIApp:
        app: ASGIApp = self._dispatch
        for middleware in reversed(self.middlewares):
            if isinstance(middleware, Middleware):
                cls, args, kwargs = middleware
                app = cls(app, *args, **kwargs)
            else:
                app = middleware(app)
        return app

    def reset(self) -> None:
        """Forget the built middleware stack (after changing ``middlewares``)."""
        self._app = None

    def serve(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Serve one connection that matched this route (inside its middlewares): return
        the awaitable that does (an ``async def`` override is one)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"
