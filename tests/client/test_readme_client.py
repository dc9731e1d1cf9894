"""The README's client example, run against the README's Phoenix app on real uvicorn."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import ROOT, uvicorn_thread

pytestmark = pytest.mark.e2e

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)


def block(marker: str) -> dict[str, Any]:
    [code] = [code for code in BLOCKS if marker in code]
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


async def test_the_client_example_runs_as_its_comments_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = block('on_receive("ping")')
    client = block("from sockethub.client import")
    with uvicorn_thread(server["app"]) as port:
        await client["main"](f"ws://127.0.0.1:{port}/socket/websocket")
    assert capsys.readouterr().out.splitlines() == ["{}", "{'pong': 1}", "Event not found"]
