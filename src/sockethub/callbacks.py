"""The callback shapes a hub and its channels accept, spelled for type checkers.

Each decorator (``@hub.on_connect``, ``@room.on_join``, ``@room.on_receive(event)``,
``@room.on_exit``, ``@hub.on_disconnect``) is typed with one of these, so ``mypy
--strict`` refuses a callback of the wrong arity, with the wrong argument types, or that
is not ``async``; the decorated function keeps its own type.

* Channel callbacks are :class:`typing.Protocol`\\ s with positional-only parameters: name
  them as you like, annotate ``sock`` as :class:`~sockethub.ChannelSocket` (its ``topic``
  is a ``str``) or as the broader :class:`~sockethub.ISocket`, and ``payload`` as whatever
  you expect (it is decoded JSON, typed ``Any``).  A hub created with
  ``per_join_sockets=False`` hands them the connection's ``ISocket`` instead: annotate
  ``sock: ISocket`` there.
* Connection hooks take the connection's :class:`~sockethub.ISocket` first and *may*
  declare more parameters (``Callable[Concatenate[ISocket, ...], Awaitable[None]]``):
  connection parameters and framework dependencies are filled by the hub, so their
  number and types cannot be fixed here; only the first one is checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Protocol, TypeVar

from .socket import ChannelSocket, ISocket

__all__ = [
    "ConnectionHook",
    "ExitCallback",
    "ExitT",
    "HookT",
    "JoinCallback",
    "JoinT",
    "ReceiveCallback",
    "ReceiveT",
]


class JoinCallback(Protocol):
    """``async def on_join(params: dict[str, str], sock: ChannelSocket) -> Any``: the
    return value is the join reply's ``response``."""

    def __call__(self, params: dict[str, str], sock: ChannelSocket, /) -> Awaitable[Any]: ...


class ReceiveCallback(Protocol):
    """``async def handler(payload: Any, sock: ChannelSocket) -> Any``: the return value
    is the reply to a message that carried a ``ref``."""

    def __call__(self, payload: Any, sock: ChannelSocket, /) -> Awaitable[Any]: ...


class ExitCallback(Protocol):
    """``async def on_exit(sock: ChannelSocket) -> None``."""

    def __call__(self, sock: ChannelSocket, /) -> Awaitable[None]: ...


ConnectionHook = Callable[Concatenate[ISocket, ...], Awaitable[None]]
"""``async def on_connect(sock: ISocket, ...) -> None`` (and ``on_disconnect``): the
connection's socket first, then any parameters the hub knows how to fill."""

JoinT = TypeVar("JoinT", bound=JoinCallback)
ReceiveT = TypeVar("ReceiveT", bound=ReceiveCallback)
ExitT = TypeVar("ExitT", bound=ExitCallback)
HookT = TypeVar("HookT", bound=ConnectionHook)
