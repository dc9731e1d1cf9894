"""FastAPI dependencies declared on a hub's hooks, resolved by FastAPI's own machinery.

Imported only when a hook declares a FastAPI parameter (``Depends``, ``Security``,
``Query``, ``Header``, ``Cookie``, ``Path``, ``SecurityScopes``), so ``import sockethub``
never imports FastAPI.  The parameters of both hooks form one FastAPI ``Dependant``,
solved once per connection before the handshake with
``fastapi.dependencies.utils.solve_dependencies``, as FastAPI solves its own websocket
endpoints': sub-dependencies, caching, ``app.dependency_overrides`` (of the app serving
the connection), security schemes.  ``yield`` dependencies are closed when the connection
ends, after ``on_disconnect`` (or at once when the handshake is refused).

A validation error refuses the handshake as FastAPI does: the socket is closed with 1008
before accept (servers such as uvicorn answer that with HTTP 403) and a reason listing the
offending parameters.  ``HTTPException`` (what FastAPI's security schemes raise) and
``WebSocketException`` are turned into refusals by the handshake.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import MutableMapping, Sequence
from contextlib import AsyncExitStack
from typing import Any, Final

from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant, solve_dependencies

from .errors import RejectError
from .handshake import close_reason
from .socket import ISocket

__all__ = ["HookDependencies", "release"]

logger = logging.getLogger(__name__)

_STACKS_KEY: Final = "sockethub.fastapi_stacks"
_REQUEST_STACK: Final = "fastapi_inner_astack"
_FUNCTION_STACK: Final = "fastapi_function_astack"


def _refuse_kinds(dependant: Dependant, where: str) -> None:
    """Refuse, at registration, what a WebSocket handshake cannot provide."""
    if dependant.body_params:
        names = ", ".join(repr(f.name) for f in dependant.body_params)
        raise TypeError(
            f"{where}: {names} would be read from a request body (Body, Form, File or a "
            "model without Query/Header/Cookie), which a WebSocket handshake has not; "
            "receive such data in a channel callback instead"
        )
    for name, what, instead in (
        (dependant.request_param_name, "Request", "HTTPConnection or WebSocket"),
        (dependant.response_param_name, "Response", "nothing: a refusal is raised"),
        (dependant.background_tasks_param_name, "BackgroundTasks", "asyncio tasks"),
    ):
        if name is not None:
            owner = getattr(dependant.call, "__qualname__", repr(dependant.call))
            raise TypeError(
                f"{where}: parameter {name!r} of {owner!r} is annotated {what}, which a "
                f"WebSocket connection does not provide; use {instead} instead"
            )
    for sub in dependant.dependencies:
        _refuse_kinds(sub, where)


def _signature_holder(parameters: Sequence[inspect.Parameter]) -> Any:
    def connection_parameters(**values: Any) -> None:  # never called: FastAPI reads it
        return None

    sig = inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters])
    connection_parameters.__signature__ = sig  # type: ignore[attr-defined]
    return connection_parameters


def _path_names(parameters: Sequence[inspect.Parameter]) -> list[str]:
    names = []
    for p in parameters:
        markers = [p.default, *getattr(p.annotation, "__metadata__", ())]
        if any(isinstance(m, params.Path) for m in markers):
            names.append(p.name)
    return names


class HookDependencies:
    """The FastAPI parameters of a hub's hooks, as one ``Dependant`` (built, and so
    checked, when a hook is registered)."""

    __slots__ = ("dependant", "names")

    def __init__(self, parameters: Sequence[inspect.Parameter], where: str) -> None:
        path = "".join("/{" + name + "}" for name in _path_names(parameters))
        try:
            self.dependant = get_dependant(path=path, call=_signature_holder(parameters))
        except (AssertionError, TypeError, ValueError) as exc:  # FastAPI asserts its rules
            raise TypeError(f"{where}: FastAPI cannot use these parameters: {exc}") from None
        _refuse_kinds(self.dependant, where)
        self.names = tuple(p.name for p in parameters)

    async def solve(self, sock: ISocket) -> dict[str, Any]:
        """The values of every FastAPI parameter; refuse the handshake (close 1008,
        ``RejectError``) on a validation error.  ``HTTPException`` / ``WebSocketException``
        raised by a dependency propagate to the handshake, which refuses with them."""
        websocket = sock.websocket
        scope = websocket.scope
        request_stack = AsyncExitStack()
        function_stack = AsyncExitStack()
        scope[_STACKS_KEY] = (function_stack, request_stack)
        scope[_REQUEST_STACK] = request_stack
        scope[_FUNCTION_STACK] = function_stack
        app = scope.get("app")
        provider = app if hasattr(app, "dependency_overrides") else None
        solved = await solve_dependencies(
            request=websocket,
            dependant=self.dependant,
            dependency_overrides_provider=provider,
            async_exit_stack=request_stack,
            embed_body_fields=False,
        )
        if solved.errors:
            reason = _describe(solved.errors)
            logger.info("refusing WebSocket %s: %s", websocket.url.path, reason)
            await websocket.close(code=1008, reason=close_reason(reason))
            raise RejectError(reason)
        return {name: solved.values[name] for name in self.names if name in solved.values}


def _describe(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors:
        loc = error.get("loc", ()) if isinstance(error, dict) else ()
        where = ".".join(str(part) for part in loc) or "parameter"
        message = error.get("msg", "invalid") if isinstance(error, dict) else str(error)
        parts.append(f"{where}: {message}")
    return "; ".join(parts) or "invalid connection parameters"


async def release(scope: MutableMapping[str, Any]) -> None:
    """Close the ``yield`` dependencies of this connection (function scope first)."""
    stacks = scope.pop(_STACKS_KEY, None)
    if stacks is None:
        return
    for stack in stacks:
        try:
            await stack.aclose()
        except Exception:
            logger.exception("a yield dependency raised while closing")
