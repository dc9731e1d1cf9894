"""Endpoint parameters: filled by annotation and name, converted, or the handshake is refused.

ISocket / Starlette WebSocket by annotation; anything else from the path parameters, then
the query string, converted to ``str`` / ``int`` / ``float`` / ``bool`` (``X | None``
allowed), defaults honoured.  A missing or unconvertible value refuses the handshake with
HTTP 400 and a body naming the parameter; the endpoint never runs.  An unsupported
annotation is refused when the endpoint is registered.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Optional

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from sockethub import ISocket, WebSocketRoute

Endpoint = Callable[..., Awaitable[Any]]


def serve(path: str, func: Endpoint) -> tuple[TestClient, list[dict[str, Any]]]:
    """A client for an app whose route at ``path`` runs ``func`` and then reports.

    ``func`` returns its arguments (as a dict); the wrapper sends them as JSON with their
    type names, so tests see what the endpoint got.  ``calls`` records each run.
    """
    calls: list[dict[str, Any]] = []
    route = WebSocketRoute(path)

    async def endpoint(**kwargs: Any) -> None:
        got: dict[str, Any] = await func(**kwargs)
        calls.append(got)
        sock = next(v for v in kwargs.values() if isinstance(v, ISocket))
        await sock.accept()
        await sock.send_json({k: [v, type(v).__name__] for k, v in got.items()})
        await sock.close()

    # The wrapper takes the signature of ``func`` (``__wrapped__``): the plan is built from it.
    route.endpoint(functools.wraps(func)(endpoint))
    return TestClient(Starlette(routes=[route])), calls


def received(client: TestClient, url: str) -> dict[str, Any]:
    with client, client.websocket_connect(url) as ws:
        result: dict[str, Any] = ws.receive_json()
    return result


def denied(client: TestClient, url: str) -> WebSocketDenialResponse:
    with client, pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect(url):
        pass
    return info.value


# -- injection by annotation and name ---------------------------------------------------------


def test_socket_and_websocket_by_annotation_any_name() -> None:
    seen: dict[str, Any] = {}

    async def f(anything: ISocket, raw: WebSocket) -> dict[str, Any]:
        seen.update(anything=anything, raw=raw)
        return {}

    client, _ = serve("/ws", f)
    assert received(client, "/ws") == {}
    assert isinstance(seen["anything"], ISocket)
    assert seen["raw"] is seen["anything"].websocket
    assert isinstance(seen["raw"], WebSocket)


def test_path_then_query_converted() -> None:
    async def f(
        sock: ISocket, room: str, n: int, ratio: float, flag: bool, q: str
    ) -> dict[str, Any]:
        return {"room": room, "n": n, "ratio": ratio, "flag": flag, "q": q}

    client, _ = serve("/ws/{room}/{n}", f)
    assert received(client, "/ws/blue/42?ratio=0.5&flag=yes&q=hi%20there") == {
        "room": ["blue", "str"],
        "n": [42, "int"],
        "ratio": [0.5, "float"],
        "flag": [True, "bool"],
        "q": ["hi there", "str"],
    }


def test_path_param_wins_over_query_param() -> None:
    async def f(sock: ISocket, room: str) -> dict[str, Any]:
        return {"room": room}

    client, _ = serve("/ws/{room}", f)
    assert received(client, "/ws/from-path?room=from-query") == {"room": ["from-path", "str"]}


def test_unannotated_parameter_is_a_string() -> None:
    async def f(sock: ISocket, q) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"q": q}

    client, _ = serve("/ws", f)
    assert received(client, "/ws?q=7") == {"q": ["7", "str"]}


def test_unannotated_parameter_keeps_the_path_convertor_value() -> None:
    async def f(sock: ISocket, n) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"n": n}

    client, _ = serve("/ws/{n:int}", f)
    assert received(client, "/ws/7") == {"n": [7, "int"]}


@pytest.mark.parametrize(
    ("path", "url", "expected"),
    [
        ("/ws/{v:int}", "/ws/7", ["7", "str"]),  # an explicit str gets a str
        ("/ws/{v:float}", "/ws/2.5", ["2.5", "str"]),
        ("/ws/{v:path}", "/ws/a/b", ["a/b", "str"]),
    ],
)
def test_explicit_str_annotation_over_a_path_convertor(
    path: str, url: str, expected: list[Any]
) -> None:
    async def f(sock: ISocket, v: str) -> dict[str, Any]:
        return {"v": v}

    client, _ = serve(path, f)
    assert received(client, url) == {"v": expected}


@pytest.mark.parametrize(
    ("annotation_path", "url", "expected"),
    [
        ("/ws/{v:int}", "/ws/7", [7.0, "float"]),  # float annotation over {v:int}
        ("/ws/{v:int}", "/ws/1", [True, "bool"]),  # bool annotation over {v:int}
    ],
)
def test_annotation_converts_a_path_convertor_value(
    annotation_path: str, url: str, expected: list[Any]
) -> None:
    async def as_float(sock: ISocket, v: float) -> dict[str, Any]:
        return {"v": v}

    async def as_bool(sock: ISocket, v: bool) -> dict[str, Any]:
        return {"v": v}

    client, _ = serve(annotation_path, as_float if expected[1] == "float" else as_bool)
    assert received(client, url) == {"v": expected}


def test_path_convertor_value_the_annotation_cannot_take_is_a_400() -> None:
    async def f(sock: ISocket, v: int) -> dict[str, Any]:
        return {"v": v}

    client, calls = serve("/ws/{v:float}", f)
    denial = denied(client, "/ws/2.5")
    assert denial.status_code == 400
    assert "'v'" in denial.text
    assert "int" in denial.text
    assert calls == []


# -- bool spellings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        ("True", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("off", False),
    ],
)
def test_bool_spellings(raw: str, value: bool) -> None:
    async def f(sock: ISocket, flag: bool) -> dict[str, Any]:
        return {"flag": flag}

    client, _ = serve("/ws", f)
    assert received(client, f"/ws?flag={raw}") == {"flag": [value, "bool"]}


@pytest.mark.parametrize("raw", ["", "2", "maybe", "truthy"])
def test_bad_bool_is_refused(raw: str) -> None:
    async def f(sock: ISocket, flag: bool = False) -> dict[str, Any]:
        return {"flag": flag}

    client, calls = serve("/ws", f)
    denial = denied(client, f"/ws?flag={raw}")
    assert denial.status_code == 400
    assert "'flag'" in denial.text
    assert "bool" in denial.text
    assert calls == []


# -- defaults and optionals -------------------------------------------------------------------


def test_defaults_honoured_when_absent() -> None:
    async def f(
        sock: ISocket, n: int = 3, name: str = "anon", flag: bool = True, x: float = 1.5
    ) -> dict[str, Any]:
        return {"n": n, "name": name, "flag": flag, "x": x}

    client, _ = serve("/ws", f)
    assert received(client, "/ws") == {
        "n": [3, "int"],
        "name": ["anon", "str"],
        "flag": [True, "bool"],
        "x": [1.5, "float"],
    }


def test_given_values_override_defaults() -> None:
    async def f(sock: ISocket, n: int = 3, flag: bool = True) -> dict[str, Any]:
        return {"n": n, "flag": flag}

    client, _ = serve("/ws", f)
    assert received(client, "/ws?n=9&flag=off") == {"n": [9, "int"], "flag": [False, "bool"]}


def test_optional_without_default_is_none_when_absent() -> None:
    async def f(
        sock: ISocket,
        n: int | None,
        s: Optional[str],  # noqa: UP045 (the typing spelling works too)
        b: bool | None = True,
    ) -> dict[str, Any]:
        return {"n": n, "s": s, "b": b}

    client, _ = serve("/ws", f)
    assert received(client, "/ws") == {
        "n": [None, "NoneType"],
        "s": [None, "NoneType"],
        "b": [True, "bool"],
    }
    client, _ = serve("/ws", f)
    assert received(client, "/ws?n=4&s=x&b=0") == {
        "n": [4, "int"],
        "s": ["x", "str"],
        "b": [False, "bool"],
    }


def test_optional_still_converted() -> None:
    async def f(sock: ISocket, n: int | None = None) -> dict[str, Any]:
        return {"n": n}

    client, calls = serve("/ws", f)
    denial = denied(client, "/ws?n=abc")
    assert denial.status_code == 400
    assert "'n'" in denial.text
    assert calls == []


def test_repeated_query_param_takes_the_last_value() -> None:
    async def f(sock: ISocket, n: int) -> dict[str, Any]:
        return {"n": n}

    client, _ = serve("/ws", f)
    # Starlette's QueryParams.__getitem__ returns the last value
    assert received(client, "/ws?n=1&n=2") == {"n": [2, "int"]}


def test_var_args_are_ignored() -> None:
    async def f(sock: ISocket, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"args": list(args), "kwargs": kwargs}

    client, _ = serve("/ws", f)
    assert received(client, "/ws?x=1") == {"args": [[], "list"], "kwargs": [{}, "dict"]}


# -- refusals -------------------------------------------------------------------------------


def test_missing_required_value_refuses_the_handshake() -> None:
    async def f(sock: ISocket, token: str) -> dict[str, Any]:
        return {"token": token}

    client, calls = serve("/ws", f)
    denial = denied(client, "/ws")
    assert denial.status_code == 400
    assert denial.text == "missing required parameter 'token'"
    assert calls == []


@pytest.mark.parametrize(
    ("query", "name", "type_name"),
    [("n=abc", "n", "int"), ("n=1&x=nan-ish", "x", "float"), ("n=1.5", "n", "int")],
)
def test_unconvertible_value_refuses_the_handshake(query: str, name: str, type_name: str) -> None:
    async def f(sock: ISocket, n: int, x: float = 0.0) -> dict[str, Any]:
        return {"n": n, "x": x}

    client, calls = serve("/ws", f)
    denial = denied(client, f"/ws?{query}")
    assert denial.status_code == 400
    assert f"parameter {name!r} must be {type_name}" in denial.text
    assert calls == []


def test_long_bad_value_is_truncated_in_the_reason() -> None:
    async def f(sock: ISocket, n: int) -> dict[str, Any]:
        return {"n": n}

    client, _ = serve("/ws", f)
    denial = denied(client, "/ws?n=" + "x" * 500)
    assert denial.status_code == 400
    assert len(denial.text) < 200


# -- registration-time refusals ---------------------------------------------------------------


class Custom:
    pass


@pytest.mark.parametrize("annotation", [list, dict, Custom, bytes, "int | str", "list[int]", "Any"])
def test_unsupported_annotation_refused_at_registration(annotation: Any) -> None:
    async def f(sock: ISocket, x: Any) -> None:
        return None

    f.__annotations__["x"] = annotation
    route = WebSocketRoute("/ws")
    with pytest.raises(TypeError, match=r"parameter 'x'.*unsupported annotation"):
        route.endpoint(f)
    assert not route.has_endpoint()


def test_unresolvable_annotation_refused_at_registration() -> None:
    async def f(sock: ISocket, x: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    with pytest.raises(TypeError, match="cannot read the annotations"):
        WebSocketRoute("/ws").endpoint(f)


def test_positional_only_parameter_refused_at_registration() -> None:
    async def f(sock: ISocket, /, q: str = "") -> None:
        return None

    with pytest.raises(TypeError, match=r"'sock' of .* is positional-only"):
        WebSocketRoute("/ws").endpoint(f)


def test_annotations_of_callable_objects_and_partials_are_read() -> None:
    class Handler:
        async def __call__(self, sock: ISocket, n: int, flag: bool = False) -> None:
            await sock.accept()
            await sock.send_json([n, flag])
            await sock.close()

    async def f(sock: ISocket, prefix: str, n: int) -> None:
        await sock.accept()
        await sock.send_json([prefix, n])
        await sock.close()

    a = WebSocketRoute("/a")
    a.endpoint(Handler())
    b = WebSocketRoute("/b/{n:int}")
    b.endpoint(functools.partial(f, prefix="p"))
    with TestClient(Starlette(routes=[a, b])) as client:
        with client.websocket_connect("/a?n=3&flag=on") as ws:
            assert ws.receive_json() == [3, True]
        with client.websocket_connect("/b/4") as ws:
            assert ws.receive_json() == ["p", 4]
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/a?n=x"):
            pass
        assert info.value.text == "parameter 'n' must be int, got 'x'"
