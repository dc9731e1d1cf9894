"""Every code block of README.md is executed here (or, for the test command, by CI)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support import ROOT, free_port

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
SHELL = [
    line for lang, code in BLOCKS if lang == "sh" for line in code.splitlines() if line.strip()
]


def command(line: str) -> str:
    return line.split("#", 1)[0].strip()


def test_readme_starts_with_the_two_commands() -> None:
    first_lang, first = BLOCKS[0]
    assert first_lang == "sh"
    assert [command(line) for line in first.splitlines()] == [
        "python3 dev.py demo",
        "python3 dev.py test",
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py test" in ci  # CI runs the README's test command


@pytest.mark.parametrize("code", PYTHON, ids=[f"block{i}" for i in range(len(PYTHON))])
def test_python_blocks_run(code: str) -> None:
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(code, "README.md", "exec"), namespace)


def test_the_hub_example_behaves_as_described() -> None:
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(PYTHON[0], "README.md", "exec"), namespace)
    with TestClient(namespace["app"]) as client:
        with (
            client.websocket_connect("/ws?token=secret") as a,
            client.websocket_connect("/ws?token=secret") as b,
        ):
            for ws in (a, b):
                ws.send_json({"topic": "room:42", "event": "join"})
            a.send_json({"topic": "room:42", "event": "say", "payload": "hi", "ref": "1"})
            assert a.receive_text() == (
                '{"topic":"room:42","event":"reply","payload":{"status":"ok","response":"delivered"},"ref":"1"}'
            )
            assert b.receive_text() == '{"topic":"room:42","event":"said","payload":"hi"}'
            b.send_json({"topic": "room:vip", "event": "join"})
            assert b.receive_json() == {"code": 4403, "reason": "members only"}
            b.send_json({"topic": "room:nope", "event": "say"})
            assert b.receive_text() == '{"code":4404,"reason":"Topic not found"}'


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_demo_command_starts_a_server() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "dev.py"), "demo", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopped whole below
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if f"http://127.0.0.1:{port}/" in line:
                break
        else:
            pytest.fail("the demo printed no URL")
        from tests.support import wait_for_port

        wait_for_port(port)
    finally:
        # The whole group, so that nothing the command started outlives the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        assert not _group_alive(proc.pid), "the demo left a process running"


def test_the_codemod_commands(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "legacy_chat", tmp_path / "examples" / "legacy_chat")
    (tmp_path / "src").mkdir()
    exe = (
        shutil.which("sockethub-migrate", path=str(Path(sys.executable).parent))
        or "sockethub-migrate"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    codes = []
    for line in SHELL:
        cmd = command(line)
        if not cmd.startswith("sockethub-migrate"):
            continue
        result = subprocess.run(
            [exe, *cmd.split()[1:]], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        codes.append((cmd, result.returncode))
    assert codes == [
        ("sockethub-migrate --diff examples/legacy_chat", 0),
        ("sockethub-migrate examples/legacy_chat", 0),
        ("sockethub-migrate --check src/", 0),
    ]
    rewritten = (tmp_path / "examples" / "legacy_chat" / "app.py").read_text()
    assert "SocketHub(" in rewritten


async def test_the_deploy_command_serves_with_the_frame_limit_matched() -> None:
    """The "Deploying" uvicorn line runs as written, and uvicorn itself enforces 64 KiB."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from tests.support import uvicorn_process

    [line] = [command(line) for line in SHELL if command(line).startswith("uvicorn ")]
    _, app, *flags = line.split()
    with uvicorn_process(app, args=flags) as (port, _):
        async with connect(f"ws://127.0.0.1:{port}/ws?user=ann", max_size=None) as ws:
            await ws.send('{"topic":"room:lobby","event":"join","ref":"1"}')
            assert "members" in str(await ws.recv())  # the demo's answer to a join
            await ws.send("x" * 70_000)  # over --ws-max-size: uvicorn closes, not the hub
            with pytest.raises(ConnectionClosed):
                while True:  # the join's frames, then the close
                    await ws.recv()
            assert ws.close_code == 1009
            assert ws.close_reason != "Message too big"  # uvicorn's close, not the hub's
