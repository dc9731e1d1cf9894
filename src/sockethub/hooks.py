"""A hub's ``on_connect`` / ``on_disconnect`` hooks and the connection parameters they declare.

A hook takes the socket as its first positional parameter and may declare more: each is a
*connection parameter*, filled by name and annotation exactly as the low-level
``WebSocketRoute`` fills its endpoint's (:class:`~sockethub.params.ParamPlan`: the path
parameters first, then the query string, converted to ``str``/``int``/``float``/``bool``).

The parameters declared by both hooks are parsed together before the handshake is
accepted, even those only ``on_disconnect`` declares: a missing required value or one that
does not convert refuses the connection as the low-level route does (HTTP 400 where the
server supports denial responses, else close 1008, the reason naming the parameter; logged
at info).  Each hook then gets the parameters it declares; a hook with ``**kwargs`` also
gets every connection parameter declared by the other hook that it does not name itself.

FastAPI parameters (a ``Depends``/``Security``/``Query``/``Header``/``Cookie``/``Path``
default or ``Annotated`` marker, or ``SecurityScopes``) are connection parameters too,
resolved by FastAPI's own dependency machinery (:mod:`sockethub._fastapi_deps`, imported
only when a hook declares one).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from .channel import require_async
from .errors import RejectError
from .handshake import refuse
from .params import ParamError, ParamPlan, type_hints
from .socket import ISocket

if TYPE_CHECKING:
    from ._fastapi_deps import HookDependencies

__all__ = ["ConnectionHooks", "HookSpec"]

_VALUES_KEY: Final = "sockethub.connection_params"


def _qualname(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


def _from_fastapi(obj: Any) -> bool:
    module = obj.__module__ if isinstance(obj, type) else type(obj).__module__
    return module == "fastapi" or module.startswith("fastapi.")


def _fastapi_parameters(func: Callable[..., Any], skip: str | None) -> list[inspect.Parameter]:
    """The parameters of ``func`` that FastAPI resolves, with their annotations evaluated
    (``Annotated`` kept), read without importing FastAPI."""
    try:
        hints = type_hints(func, extras=True)
    except Exception:  # ParamPlan reports unreadable annotations with its own message
        return []
    found = []
    for p in inspect.signature(func).parameters.values():
        if p.name == skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = hints.get(p.name, inspect.Parameter.empty)
        metadata = getattr(ann, "__metadata__", ()) if typing.get_origin(ann) else ()
        if (
            _from_fastapi(p.default)
            or any(_from_fastapi(m) for m in metadata)
            or (isinstance(ann, type) and _from_fastapi(ann))
        ):
            found.append(p.replace(annotation=ann))
    return found


class HookSpec:
    """One registered hook: the function, its socket parameter and its connection
    parameters (validated when the hook is registered)."""

    __slots__ = ("fastapi", "func", "plan", "role", "types")

    def __init__(self, func: Callable[..., Awaitable[None]], role: str) -> None:
        require_async(func, f"{role} hook")
        self.func = func
        self.role = role
        params = list(inspect.signature(func).parameters.values())
        if not params or params[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.VAR_POSITIONAL,
        ):
            raise TypeError(
                f"{role} hook {_qualname(func)!r} must take the socket as its first "
                "positional parameter: async def hook(sock, ...)"
            )
        sock_name = None if params[0].kind is inspect.Parameter.VAR_POSITIONAL else params[0].name
        self.fastapi = _fastapi_parameters(func, sock_name)
        """The parameters FastAPI resolves."""
        skip = {p.name for p in self.fastapi}
        if sock_name is not None:
            skip.add(sock_name)
        try:
            self.plan = ParamPlan(func, skip=skip)
        except TypeError as exc:
            raise TypeError(f"{role} hook: {exc}") from None
        self.types: dict[str, str] = self.plan.value_types()
        """Connection parameter name -> the type it converts to (or its FastAPI
        declaration)."""
        for p in self.fastapi:
            self.types[p.name] = f"{p.annotation!r} = {p.default!r}"

    def check_against(self, other: HookSpec | None) -> None:
        """Refuse a name that this hook and ``other`` declare with different types."""
        if other is None:
            return
        for name, type_name in self.types.items():
            theirs = other.types.get(name)
            if theirs is not None and theirs != type_name:
                raise TypeError(
                    f"connection parameter {name!r} is {type_name} in {self.role} hook "
                    f"{_qualname(self.func)!r} but {theirs} in {other.role} hook "
                    f"{_qualname(other.func)!r}: declare it with one type"
                )

    def kwargs(self, sock: ISocket, values: dict[str, Any]) -> dict[str, Any]:
        """This hook's keyword arguments, given every connection parameter's value."""
        out = self.plan.kwargs(sock) if self.plan.names else {}
        for p in self.fastapi:
            out[p.name] = values[p.name]
        if self.plan.var_keyword:
            for name, value in values.items():
                out.setdefault(name, value)
        return out


class ConnectionHooks:
    """The hub's two hooks; :meth:`connect` and :meth:`disconnect` are what the session
    calls (with the socket only)."""

    __slots__ = ("dependencies", "on_connect", "on_disconnect")

    def __init__(self) -> None:
        self.on_connect: HookSpec | None = None
        self.on_disconnect: HookSpec | None = None
        self.dependencies: HookDependencies | None = None
        """The FastAPI parameters of both hooks, if any."""

    def set_connect(self, func: Callable[..., Awaitable[None]]) -> None:
        spec = HookSpec(func, "on_connect")
        spec.check_against(self.on_disconnect)
        self.dependencies = self._dependencies(spec, self.on_disconnect)
        self.on_connect = spec

    def set_disconnect(self, func: Callable[..., Awaitable[None]]) -> None:
        spec = HookSpec(func, "on_disconnect")
        spec.check_against(self.on_connect)
        self.dependencies = self._dependencies(self.on_connect, spec)
        self.on_disconnect = spec

    @staticmethod
    def _dependencies(
        connect: HookSpec | None, disconnect: HookSpec | None
    ) -> HookDependencies | None:
        merged: dict[str, inspect.Parameter] = {}
        for spec in (connect, disconnect):
            if spec is not None:
                merged.update((p.name, p) for p in spec.fastapi)
        if not merged:
            return None
        from ._fastapi_deps import HookDependencies

        names = " and ".join(
            repr(_qualname(s.func)) for s in (connect, disconnect) if s is not None and s.fastapi
        )
        return HookDependencies(list(merged.values()), f"hub hook {names}")

    @property
    def needs_connect(self) -> bool:
        """Whether something must run before the handshake: an ``on_connect`` hook, or
        connection parameters to validate."""
        return self.on_connect is not None or bool(
            self.on_disconnect is not None and self.on_disconnect.types
        )

    def _specs(self) -> tuple[HookSpec, ...]:
        return tuple(s for s in (self.on_connect, self.on_disconnect) if s is not None)

    async def connect(self, sock: ISocket) -> None:
        """Parse every connection parameter (refusing the handshake with HTTP 400 / close
        1008 and raising ``RejectError`` if one is missing or bad), then run ``on_connect``."""
        values: dict[str, Any] = {}
        try:
            for spec in self._specs():
                values.update(spec.plan.values(sock))
        except ParamError as exc:
            await refuse(sock.websocket, str(exc), status=400, close_code=1008)
            raise RejectError(str(exc)) from None
        if self.dependencies is not None:
            values.update(await self.dependencies.solve(sock))
        sock.scope[_VALUES_KEY] = values
        if self.on_connect is not None:
            await self.on_connect.func(sock, **self.on_connect.kwargs(sock, values))

    async def disconnect(self, sock: ISocket) -> None:
        """Run ``on_disconnect`` with the values parsed at the handshake."""
        spec = self.on_disconnect
        if spec is not None:
            values: dict[str, Any] = sock.scope.get(_VALUES_KEY, {})
            await spec.func(sock, **spec.kwargs(sock, values))

    async def release(self, scope: MutableMapping[str, Any]) -> None:
        """Close what the connection's FastAPI dependencies hold (``yield`` ones), once the
        connection is over, whether it was accepted or not."""
        if self.dependencies is not None:
            from ._fastapi_deps import release

            await release(scope)
