"""FastAPI dependencies in hub hooks, resolved by FastAPI's own machinery."""

# No "from __future__ import annotations": the hooks below annotate with local names.
import logging
import subprocess
import sys
from typing import Annotated, Any

import pytest
from fastapi import (
    APIRouter,
    Body,
    Cookie,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Security,
    WebSocketException,
)
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    SecurityScopes,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from sockethub import ISocket, SocketHub
from tests.hub.helpers import probe
from tests.support import ROOT, uvicorn_thread


def fastapi_app(hub: SocketHub) -> FastAPI:
    app = FastAPI(lifespan=hub.lifespan)
    app.router.routes.append(hub)
    return app


def test_query_header_cookie_and_plain_parameters_together() -> None:
    hub = SocketHub("/ws/{room}")
    seen: list[Any] = []

    @hub.on_connect
    async def connect(
        sock: ISocket,
        room: str,
        limit: Annotated[int, Query(ge=1)],
        agent: Annotated[str, Header(alias="user-agent")],
        session: Annotated[str | None, Cookie()] = None,
        n: int = 0,
    ) -> None:
        seen.append((room, limit, agent, session, n))

    with TestClient(fastapi_app(hub)) as client:
        client.cookies.set("session", "s1")
        with client.websocket_connect("/ws/r?limit=3&n=2") as ws:
            probe(ws)
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws/r?limit=0"):
                pass
        assert info.value.code == 1008
        assert "query.limit" in info.value.reason
        assert "greater than or equal to 1" in info.value.reason
    assert seen == [("r", 3, "testclient", "s1", 2)]
    assert hub.stats.refused == 1


def test_path_markers_with_params_of_an_include_prefix() -> None:
    hub = SocketHub("/ws/{room}")
    seen: list[Any] = []

    @hub.on_connect
    async def connect(
        sock: ISocket,
        org: Annotated[int, Path(gt=0)],
        room: Annotated[str, Path(min_length=2)],
    ) -> None:
        seen.append((org, room))

    router = APIRouter()
    router.routes.append(hub)
    app = FastAPI()
    app.include_router(router, prefix="/org/{org}")
    with TestClient(app) as client:
        with client.websocket_connect("/org/3/ws/ab") as ws:
            probe(ws)
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/org/0/ws/ab"):
                pass
        assert (info.value.code, info.value.reason) == (
            1008,
            "path.org: Input should be greater than 0",
        )
    assert seen == [(3, "ab")]


def test_depends_chain_cache_and_kwargs_of_the_other_hook() -> None:
    hub = SocketHub("/ws")
    calls: list[str] = []
    seen: list[Any] = []

    def settings() -> dict[str, str]:
        calls.append("settings")
        return {"realm": "r1"}

    def user(token: str, cfg: Annotated[dict[str, str], Depends(settings)]) -> str:
        return f"{token}@{cfg['realm']}"

    @hub.on_connect
    async def connect(
        sock: ISocket,
        who: Annotated[str, Depends(user)],
        cfg: Annotated[dict[str, str], Depends(settings)],
    ) -> None:
        seen.append(("connect", who, cfg))

    @hub.on_disconnect
    async def disconnect(sock: ISocket, **params: Any) -> None:
        seen.append(("disconnect", params))

    with TestClient(fastapi_app(hub)) as client:
        with client.websocket_connect("/ws?token=t") as ws:
            probe(ws)
    assert calls == ["settings"]  # one connection, one call: FastAPI's cache
    assert seen == [
        ("connect", "t@r1", {"realm": "r1"}),
        ("disconnect", {"who": "t@r1", "cfg": {"realm": "r1"}}),
    ]


def test_yield_dependency_closed_after_on_disconnect_and_on_refusal() -> None:
    hub = SocketHub("/ws")
    events: list[str] = []

    async def db() -> Any:
        events.append("open")
        try:
            yield "conn"
        finally:
            events.append("close")

    @hub.on_connect
    async def connect(sock: ISocket, conn: Annotated[str, Depends(db)], ok: bool) -> None:
        events.append(f"connect {conn}")
        if not ok:
            raise WebSocketException(4000, "not ok")

    @hub.on_disconnect
    async def disconnect(sock: ISocket, conn: Annotated[str, Depends(db)]) -> None:
        events.append(f"disconnect {conn}")

    with TestClient(fastapi_app(hub)) as client:
        with client.websocket_connect("/ws?ok=1") as ws:
            probe(ws)
        assert events == ["open", "connect conn", "disconnect conn", "close"]
        events.clear()
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws?ok=0"):
                pass
        assert (info.value.code, info.value.reason) == (4000, "not ok")
        assert events == ["open", "connect conn", "close"]


def test_a_failing_dependency_is_a_logged_500_and_its_yield_siblings_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = SocketHub("/ws")
    events: list[str] = []

    async def db() -> Any:
        events.append("open")
        yield "conn"
        events.append("close")

    def broken(conn: Annotated[str, Depends(db)]) -> str:
        raise RuntimeError("dependency bug")

    @hub.on_connect
    async def connect(sock: ISocket, x: Annotated[str, Depends(broken)]) -> None:
        events.append("connect")

    with TestClient(fastapi_app(hub)) as client:
        with pytest.raises(WebSocketDenialResponse) as info:
            with client.websocket_connect("/ws"):
                pass
        assert info.value.status_code == 500
        assert events == ["open", "close"]
        events.clear()
        with pytest.raises(WebSocketDenialResponse):  # the hub keeps serving
            with client.websocket_connect("/ws"):
                pass
        assert events == ["open", "close"]
    assert hub.stats.callback_errors == 2
    failures = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert failures and "dependency bug" in str(failures[0].exc_info[1])  # type: ignore[index]


@pytest.mark.e2e
async def test_refusals_a_real_client_sees_on_uvicorn() -> None:
    hub = SocketHub("/ws")
    bearer = HTTPBearer()

    @hub.on_connect
    async def connect(
        sock: ISocket,
        creds: Annotated[HTTPAuthorizationCredentials, Security(bearer)],
        n: Annotated[int, Query()],
    ) -> None:
        sock.assigns["n"] = n

    with uvicorn_thread(fastapi_app(hub), ws="websockets-sansio") as port:
        url = f"ws://127.0.0.1:{port}/ws"
        with pytest.raises(InvalidStatus) as info:  # no credentials: the scheme's 401
            async with ws_connect(f"{url}?n=1"):
                pass
        assert info.value.response.status_code == 401
        assert info.value.response.headers["www-authenticate"] == "Bearer"
        headers = {"Authorization": "Bearer abc"}
        with pytest.raises(InvalidStatus) as info:  # a validation error: close 1008 -> 403
            async with ws_connect(f"{url}?n=x", additional_headers=headers):
                pass
        assert info.value.response.status_code == 403
        async with ws_connect(f"{url}?n=2", additional_headers=headers) as ws:
            await ws.send('{"topic":"nowhere","event":"ping"}')
            assert await ws.recv() == '{"code":4404,"reason":"Topic not found"}'


def test_dependencies_only_on_disconnect_are_solved_before_the_handshake() -> None:
    hub = SocketHub("/ws")
    events: list[str] = []

    async def audit(who: Annotated[str, Query()]) -> Any:
        events.append(f"open {who}")
        yield who
        events.append("close")

    @hub.on_disconnect
    async def disconnect(sock: ISocket, who: Annotated[str, Depends(audit)]) -> None:
        events.append(f"disconnect {who}")

    with TestClient(fastapi_app(hub)) as client:
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
            pass
        assert (info.value.code, info.value.reason) == (1008, "query.who: Field required")
        assert events == []
        with client.websocket_connect("/ws?who=ann") as ws:
            assert events == ["open ann"]
            probe(ws)
    assert events == ["open ann", "disconnect ann", "close"]


def test_dependency_overrides_of_the_serving_app() -> None:
    hub = SocketHub("/ws")
    seen: list[str] = []

    def user(token: str) -> str:
        return token

    @hub.on_connect
    async def connect(sock: ISocket, who: Annotated[str, Depends(user)]) -> None:
        seen.append(who)

    app = fastapi_app(hub)
    app.dependency_overrides[user] = lambda: "overridden"
    with TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            probe(ws)
    assert seen == ["overridden"]


def test_security_schemes_refuse_with_their_http_status() -> None:
    hub = SocketHub("/ws")
    bearer = HTTPBearer()
    key = APIKeyHeader(name="x-key", auto_error=False)
    seen: list[Any] = []

    @hub.on_connect
    async def connect(
        sock: ISocket,
        creds: Annotated[HTTPAuthorizationCredentials, Security(bearer)],
        api_key: Annotated[str | None, Depends(key)],
    ) -> None:
        seen.append((creds.credentials, api_key))

    with TestClient(fastapi_app(hub)) as client:
        headers = {"authorization": "Bearer abc", "x-key": "k"}
        with client.websocket_connect("/ws", headers=headers) as ws:
            probe(ws)
        with pytest.raises(WebSocketDenialResponse) as info:
            with client.websocket_connect("/ws"):
                pass
        assert info.value.status_code == 401
        assert info.value.json() == {"detail": "Not authenticated"}
        assert info.value.headers["www-authenticate"] == "Bearer"
    assert seen == [("abc", "k")]


def test_oauth2_bearer_with_scopes() -> None:
    hub = SocketHub("/ws")
    oauth2 = OAuth2PasswordBearer(tokenUrl="token", scopes={"chat": "chat"})
    seen: list[Any] = []

    def user(scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> str:
        if token != "good":
            raise WebSocketException(4401, "bad token")
        return f"{token}:{','.join(scopes.scopes)}"

    @hub.on_connect
    async def connect(sock: ISocket, who: Annotated[str, Security(user, scopes=["chat"])]) -> None:
        seen.append(who)

    with TestClient(fastapi_app(hub)) as client:
        with client.websocket_connect("/ws", headers={"authorization": "Bearer good"}) as ws:
            probe(ws)
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws", headers={"authorization": "Bearer bad"}):
                pass
        assert (info.value.code, info.value.reason) == (4401, "bad token")
        with pytest.raises(WebSocketDenialResponse) as denial:
            with client.websocket_connect("/ws"):
                pass
        assert denial.value.status_code == 401
    assert seen == ["good:chat"]


def test_http_exception_in_a_plain_hook(caplog: pytest.LogCaptureFixture) -> None:
    hub = SocketHub("/ws")

    @hub.on_connect
    async def connect(sock: ISocket) -> None:
        raise HTTPException(status_code=403, detail="members only")

    caplog.set_level(logging.INFO, logger="sockethub")
    with TestClient(Starlette(routes=[hub])) as client:
        with pytest.raises(WebSocketDenialResponse) as info:
            with client.websocket_connect("/ws"):
                pass
        assert info.value.status_code == 403
        assert info.value.json() == {"detail": "members only"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("members only" in r.getMessage() for r in caplog.records)


class TestRefusedAtRegistration:
    def test_body_parameter(self) -> None:
        hub = SocketHub("/ws")

        async def connect(sock: ISocket, data: Annotated[dict[str, Any], Body()]) -> None:
            pass

        with pytest.raises(TypeError, match=r"'data'.*request body.*channel callback"):
            hub.on_connect(connect)

    def test_request_in_a_dependency(self) -> None:
        hub = SocketHub("/ws")

        def needs_request(request: Request) -> str:
            return "x"

        async def connect(sock: ISocket, x: Annotated[str, Depends(needs_request)]) -> None:
            pass

        with pytest.raises(TypeError, match=r"'request' of '[^']*needs_request'.*HTTPConnection"):
            hub.on_connect(connect)

    def test_clashing_declarations_between_hooks(self) -> None:
        hub = SocketHub("/ws")

        def a() -> str:
            return "a"

        def b() -> str:
            return "b"

        @hub.on_connect
        async def connect(sock: ISocket, who: Annotated[str, Depends(a)]) -> None:
            pass

        async def disconnect(sock: ISocket, who: Annotated[str, Depends(b)]) -> None:
            pass

        with pytest.raises(TypeError, match=r"connection parameter 'who'"):
            hub.on_disconnect(disconnect)


def test_import_sockethub_does_not_import_fastapi() -> None:
    code = (
        "import sys, sockethub, sockethub.hooks\n"
        "from sockethub import SocketHub, ISocket\n"
        "hub = SocketHub('/ws')\n"
        "async def c(sock: ISocket, n: int) -> None: ...\n"
        "hub.on_connect(c)\n"
        "assert 'fastapi' not in sys.modules, sorted(m for m in sys.modules if 'fastapi' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
