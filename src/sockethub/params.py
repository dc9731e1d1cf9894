"""Filling an endpoint's parameters from the connection, by annotation and name.

A parameter annotated :class:`~sockethub.ISocket` gets the socket, one annotated
Starlette's ``WebSocket`` the raw socket; any other comes from the path parameters, else
the query string, converted to its annotation (``str``, ``int``, ``float``, ``bool``,
optionally ``| None``).  The plan is built once, when the function is registered.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from .socket import ISocket

__all__ = ["ParamError", "ParamPlan", "type_hints"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ParamError(Exception):
    """A required parameter is missing or cannot be converted; the message names it."""


def _to_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(raw)


_CONVERTERS: dict[Any, Callable[[str], Any]] = {str: str, int: int, float: float, bool: _to_bool}


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    kind: str  # "socket", "websocket" or "value"
    convert: Callable[[str], Any]
    type_name: str
    default: Any
    optional: bool
    annotated: bool = True  # False: no annotation, a path convertor's value is kept as is


def type_hints(func: Callable[..., Any], *, extras: bool = False) -> dict[str, Any]:
    """``func``'s evaluated annotations, looked up where they live for partials and
    callable objects (``extras``: keep ``Annotated``).  Raises what evaluation raises."""
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func
    if not inspect.isroutine(target):
        target = type(target).__call__
    return typing.get_type_hints(target, include_extras=extras)


class ParamPlan:
    """How to call one function: which value goes to which parameter."""

    __slots__ = ("_params", "names", "var_keyword")

    def __init__(self, func: Callable[..., Any], *, skip: Collection[str] = ()) -> None:
        """Plan ``func``'s parameters, except those named in ``skip`` (filled elsewhere).

        Raises ``TypeError`` naming the function and the parameter for an unsupported
        annotation or a positional-only parameter.
        """
        try:
            hints = type_hints(func)
        except Exception as exc:  # an unresolvable forward reference
            raise TypeError(f"cannot read the annotations of {func!r}: {exc}") from exc
        params: list[_Param] = []
        self.var_keyword = False
        """Whether the function takes ``**kwargs``."""
        for p in inspect.signature(func).parameters.values():
            if p.kind is p.VAR_KEYWORD:
                self.var_keyword = True
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in skip:
                continue
            if p.kind is p.POSITIONAL_ONLY:  # every argument is passed by name
                raise TypeError(
                    f"parameter {p.name!r} of {getattr(func, '__qualname__', func)!r} is "
                    "positional-only: arguments are passed by name"
                )
            ann = hints.get(p.name, str)
            optional = False
            if typing.get_origin(ann) in (typing.Union, types.UnionType):
                args = [a for a in typing.get_args(ann) if a is not type(None)]
                optional = len(args) < len(typing.get_args(ann))
                if len(args) == 1:
                    ann = args[0]
            if isinstance(ann, type) and issubclass(ann, ISocket):
                params.append(_Param(p.name, "socket", str, "ISocket", p.default, False))
            elif isinstance(ann, type) and issubclass(ann, WebSocket):
                params.append(_Param(p.name, "websocket", str, "WebSocket", p.default, False))
            elif ann in _CONVERTERS:
                params.append(
                    _Param(
                        p.name,
                        "value",
                        _CONVERTERS[ann],
                        ann.__name__,
                        p.default,
                        optional,
                        annotated=p.name in hints,
                    )
                )
            else:
                raise TypeError(
                    f"parameter {p.name!r} of {getattr(func, '__qualname__', func)!r} has "
                    f"unsupported annotation {ann!r}: use ISocket, WebSocket, str, int, "
                    "float or bool"
                )
        self._params = tuple(params)
        self.names = tuple(p.name for p in params)

    def value_types(self) -> dict[str, str]:
        """Each path/query parameter's name and the type it converts to (``"int"``...)."""
        return {p.name: p.type_name for p in self._params if p.kind == "value"}

    def value_names(self) -> tuple[str, ...]:
        """Names filled from the path or query string."""
        return tuple(p.name for p in self._params if p.kind == "value")

    def values(self, sock: ISocket) -> dict[str, Any]:
        """The path/query parameters only, converted; raise :class:`ParamError`."""
        return self._fill(sock, values_only=True)

    def kwargs(self, sock: ISocket) -> dict[str, Any]:
        """Every argument of the function; raise :class:`ParamError`."""
        return self._fill(sock, values_only=False)

    def _fill(self, sock: ISocket, *, values_only: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        path_params = sock.path_params
        query = sock.query_params
        for p in self._params:
            if p.kind == "socket":
                if not values_only:
                    out[p.name] = sock
                continue
            if p.kind == "websocket":
                if not values_only:
                    out[p.name] = sock.websocket
                continue
            if p.name in path_params:
                raw = path_params[p.name]
                if not isinstance(raw, str):  # already converted by a path convertor
                    if not p.annotated:
                        out[p.name] = raw
                        continue
                    raw = str(raw)  # converted to the annotation below, or a ParamError
            elif p.name in query:
                raw = query[p.name]
            elif p.default is not inspect.Parameter.empty:
                out[p.name] = p.default
                continue
            elif p.optional:
                out[p.name] = None
                continue
            else:
                raise ParamError(f"missing required parameter {p.name!r}")
            try:
                out[p.name] = p.convert(raw)
            except ValueError:
                raise ParamError(
                    f"parameter {p.name!r} must be {p.type_name}, got {raw[:64]!r}"
                ) from None
        return out
