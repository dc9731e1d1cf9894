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
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Final

from .channel import require_async
from .errors import RejectError
from .handshake import refuse
from .params import ParamError, ParamPlan
from .socket import ISocket

__all__ = ["ConnectionHooks", "HookSpec"]

_VALUES_KEY: Final = "sockethub.connection_params"


def _qualname(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


class HookSpec:
    """One registered hook: the function, its socket parameter and its connection
    parameters (validated when the hook is registered)."""

    __slots__ = ("func", "plan", "role", "types")

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
        skip = () if params[0].kind is inspect.Parameter.VAR_POSITIONAL else (params[0].name,)
        try:
            self.plan = ParamPlan(func, skip=skip)
        except TypeError as exc:
            raise TypeError(f"{role} hook: {exc}") from None
        self.types: dict[str, str] = self.plan.value_types()
        """Connection parameter name -> the type it converts to."""

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
        if self.plan.var_keyword:
            for name, value in values.items():
                out.setdefault(name, value)
        return out


class ConnectionHooks:
    """The hub's two hooks; :meth:`connect` and :meth:`disconnect` are what the session
    calls (with the socket only)."""

    __slots__ = ("on_connect", "on_disconnect")

    def __init__(self) -> None:
        self.on_connect: HookSpec | None = None
        self.on_disconnect: HookSpec | None = None

    def set_connect(self, func: Callable[..., Awaitable[None]]) -> None:
        spec = HookSpec(func, "on_connect")
        spec.check_against(self.on_disconnect)
        self.on_connect = spec

    def set_disconnect(self, func: Callable[..., Awaitable[None]]) -> None:
        spec = HookSpec(func, "on_disconnect")
        spec.check_against(self.on_connect)
        self.on_disconnect = spec

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
        sock.scope[_VALUES_KEY] = values
        if self.on_connect is not None:
            await self.on_connect.func(sock, **self.on_connect.kwargs(sock, values))

    async def disconnect(self, sock: ISocket) -> None:
        """Run ``on_disconnect`` with the values parsed at the handshake."""
        spec = self.on_disconnect
        if spec is not None:
            values: dict[str, Any] = sock.scope.get(_VALUES_KEY, {})
            await spec.func(sock, **spec.kwargs(sock, values))
