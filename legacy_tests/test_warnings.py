"""The deprecation warnings of the 0.1 managed mode: what, where, how often, and when the
facade must go."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import deprecation
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import sockethub
from sockethub import ISocket, SockethubDeprecationWarning, WebSocketRoute
from sockethub.legacy import DEPRECATED_IN, MESSAGE_PREFIX, REMOVED_IN
from sockethub.websocket import WSManagedEndpoint


@contextmanager
def recorded() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def here() -> int:
    """The line number of the caller (the line that calls ``here()``)."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


async def hook(sock: ISocket) -> None:
    return None


async def handler() -> None:
    return None


ENTRY_POINTS: dict[str, tuple[Callable[[WebSocketRoute], Any], list[str]]] = {
    "channel": (lambda r: r.channel("room:{id}"), ["SocketHub", "hub.channel"]),
    "on_connect": (lambda r: r.on_connect(hook), ["SocketHub", "hub.on_connect"]),
    "on_disconnect": (lambda r: r.on_disconnect(hook), ["SocketHub", "hub.on_disconnect"]),
    "handler": (lambda r: r.handler(handler), ["SocketHub"]),
    "include_subroutes": (lambda r: r.include_subroutes(WebSocketRoute("/x")), ["merge"]),
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_each_entry_point_warns_once_naming_the_replacement(name: str) -> None:
    call, replacements = ENTRY_POINTS[name]
    route = WebSocketRoute("/ws")
    with recorded() as caught:
        call(route)
    assert len(caught) == 1
    warning = caught[0]
    assert warning.category is SockethubDeprecationWarning
    assert issubclass(warning.category, deprecation.DeprecatedWarning)
    assert issubclass(warning.category, DeprecationWarning)
    message = str(warning.message)
    assert message.startswith(MESSAGE_PREFIX + f"WebSocketRoute.{name}()")
    assert f"deprecated as of {DEPRECATED_IN} and will be removed in {REMOVED_IN}" in message
    assert "sockethub-migrate" in message
    for replacement in replacements:
        assert replacement in message
    assert (warning.message.deprecated_in, warning.message.removed_in) == ("0.2", "0.3")  # type: ignore[union-attr]


def test_the_warning_points_at_the_callers_line() -> None:
    with recorded() as caught:
        route = WebSocketRoute("/ws")
        line_channel = here() + 1
        room = route.channel("room:{id}")
        line_connect = here() + 2

        @route.on_connect
        async def on_connect(sock: ISocket) -> None:
            return None

        line_disconnect = here() + 2

        @route.on_disconnect
        async def on_disconnect(sock: ISocket) -> None:
            return None

        line_handler = here() + 1
        route.handler(handler)
        line_include = here() + 1
        route.include_subroutes(WebSocketRoute("/sub"))
    assert [(w.filename, w.lineno) for w in caught] == [
        (__file__, line_channel),
        (__file__, line_connect),
        (__file__, line_disconnect),
        (__file__, line_handler),
        (__file__, line_include),
    ]
    assert room.topic_pattern == "room:{id}"


def test_a_module_importing_a_0_1_app_is_blamed_at_its_own_lines(tmp_path: Any) -> None:
    app_file = tmp_path / "old_app.py"
    app_file.write_text(
        textwrap.dedent(
            """\
            from sockethub import WebSocketRoute

            ws_route = WebSocketRoute("/ws")
            room = ws_route.channel("room:{id}")

            @ws_route.handler
            async def handle_ws() -> None:
                return None
            """
        )
    )
    with recorded() as caught:
        namespace: dict[str, Any] = {"__name__": "old_app"}
        exec(compile(app_file.read_text(), str(app_file), "exec"), namespace)
    assert [(w.filename, w.lineno) for w in caught] == [(str(app_file), 4), (str(app_file), 6)]


def test_the_low_level_route_does_not_warn() -> None:
    with recorded() as caught:
        root = WebSocketRoute("/ws/{room}")

        @root.endpoint
        async def echo(sock: ISocket, room: str) -> None:
            await sock.accept()
            await sock.send_text(room)
            await sock.close()

        child = root.sub("/child")

        @child.endpoint
        async def child_endpoint(sock: ISocket) -> None:
            await sock.accept()
            await sock.close()

        api = WebSocketRoute("/api/v1")
        # "/v1" is not a prefix of "/ws/{room}": the copy serves "/api/v1" + "/ws/{room}"
        api.merge(root, parent_prefix="/v1")
        client = TestClient(Starlette(routes=[root, api]))
        for url in ("/ws/a", "/api/v1/ws/b"):
            with client.websocket_connect(url) as ws:
                assert ws.receive_text() == url.split("/")[-1]
    assert caught == []


def test_nothing_warns_per_connection_or_message() -> None:
    route = WebSocketRoute("/ws")
    room = route.channel("room:{id}")

    @room.on_receive("ping")
    async def ping(payload: Any, sock: ISocket) -> None:
        await sock.reply("pong")

    @route.on_connect
    async def on_connect(sock: ISocket) -> None:
        return None

    @route.handler
    async def handle_ws() -> None:
        return None

    api = WebSocketRoute("/api")
    with recorded() as caught:
        api.merge(route)
        client = TestClient(Starlette(routes=[route, api]))
        for url in ("/ws", "/ws", "/api/ws"):
            with client.websocket_connect(url) as ws:
                for _ in range(3):
                    ws.send_json({"topic": "room:1", "event": "join"})
                    ws.send_json({"topic": "room:1", "event": "ping"})
                    assert ws.receive_json()["payload"] == "pong"
                    ws.send_json({"topic": "room:1", "event": "leave"})
    assert caught == []


def test_old_import_paths_do_not_warn() -> None:
    with recorded() as caught:
        from sockethub.channel import MessageEnvelope, RejectError  # noqa: F401
        from sockethub.websocket import WebSocketEndpoint, WSManagedEndpoint  # noqa: F401

        route = WebSocketRoute("/ws")
        assert not isinstance(route.ws_endpoint, WSManagedEndpoint)
    assert caught == []


def test_registration_errors_come_before_the_warning() -> None:
    route = WebSocketRoute("/ws")
    route.endpoint(hook)
    with recorded() as caught, pytest.raises(RuntimeError):
        route.channel("room:{id}")
    assert caught == []


# -- filtering --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("error::sockethub.SockethubDeprecationWarning")
def test_pytest_filterwarnings_with_our_category_makes_them_errors() -> None:
    route = WebSocketRoute("/ws")
    with pytest.raises(SockethubDeprecationWarning):
        route.channel("room:{id}")


def test_filter_by_message_prefix() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=MESSAGE_PREFIX)
        with pytest.raises(SockethubDeprecationWarning):
            WebSocketRoute("/ws").channel("room:{id}")
        warnings.filterwarnings("ignore", message=MESSAGE_PREFIX)
        WebSocketRoute("/ws").channel("room:{id}")


@pytest.mark.parametrize(
    "option",
    [
        "error::DeprecationWarning",
        f"error:{MESSAGE_PREFIX.strip()}",
    ],
)
def test_interpreter_w_option_makes_them_errors(option: str) -> None:
    code = "from sockethub import WebSocketRoute\nWebSocketRoute('/ws').channel('room:{id}')\n"
    done = subprocess.run(
        [sys.executable, "-W", option, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "SockethubDeprecationWarning: sockethub 0.1 API: WebSocketRoute.channel()" in (
        done.stderr
    )


def test_by_default_python_shows_the_warning_with_the_apps_line(tmp_path: Any) -> None:
    script = tmp_path / "old_app.py"
    script.write_text(
        "from sockethub import WebSocketRoute\n"
        "route = WebSocketRoute('/ws')\n"
        "route.channel('room:{id}')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert f"{script}:3: SockethubDeprecationWarning" in done.stderr


# -- the traps of the deprecation package ----------------------------------------------------


def test_classes_stay_classes_and_async_stays_async() -> None:
    assert inspect.isclass(WebSocketRoute)
    assert inspect.isclass(WSManagedEndpoint)
    assert inspect.isclass(SockethubDeprecationWarning)
    assert isinstance(WebSocketRoute.ws_endpoint, property)
    route = WebSocketRoute("/ws")
    assert route.on_connect(hook) is hook
    assert route.on_disconnect(hook) is hook
    assert inspect.iscoroutinefunction(route.handler(handler))
    room = route.channel("room:{id}")

    async def on_join(params: dict[str, str], sock: ISocket) -> None:
        return None

    assert room.on_join(on_join) is on_join
    assert inspect.iscoroutinefunction(room.on_join(on_join))
    for name in ("channel", "on_connect", "on_disconnect", "handler", "include_subroutes"):
        method = getattr(WebSocketRoute, name)
        assert inspect.isfunction(method)
        assert not hasattr(method, "__wrapped__")


# -- the facade has a removal date --------------------------------------------------------------


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def test_version_tuple() -> None:
    assert version_tuple("0.2.0") < version_tuple("0.3") <= version_tuple("0.3.0")


def test_the_facade_is_removed_in_0_3() -> None:
    """Fails once sockethub reaches ``removed_in``: delete ``src/sockethub/legacy.py``,
    ``legacy_tests/``, the facade's imports in ``websocket.py`` and ``__init__.py``, and
    the MIGRATION.md samples marked 0.1, instead of shipping the facade past its date."""
    assert version_tuple(sockethub.__version__) < version_tuple(REMOVED_IN), (
        f"sockethub {sockethub.__version__} still ships the 0.1 managed mode that was to "
        f"be removed in {REMOVED_IN}"
    )


def test_the_low_level_route_merged_with_a_prefix_it_lacks_does_not_warn() -> None:
    with recorded() as caught:
        root = WebSocketRoute("/ws/{room}")

        @root.endpoint
        async def echo(sock: ISocket, room: str) -> None:
            await sock.accept()
            await sock.send_text(room)
            await sock.close()

        child = root.sub("/child")

        @child.endpoint
        async def child_endpoint(sock: ISocket) -> None:
            await sock.accept()
            await sock.close()

        api = WebSocketRoute("/api")
        api.merge(root, parent_prefix="/v1")
        client = TestClient(Starlette(routes=[root, api]))
        for url in ("/ws/a", "/api/ws/b"):  # parent_prefix "/v1" is not a prefix of "/ws"
            with client.websocket_connect(url) as ws:
                assert ws.receive_text() == url.split("/")[-1]
    assert caught == []
