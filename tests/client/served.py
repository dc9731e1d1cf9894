"""The Phoenix suites' app as an import string for a uvicorn child process (``served:app``):
one hub at ``/socket/websocket`` speaking the 0.1 envelope, or Phoenix V2 with ``vsn``."""

from __future__ import annotations

from tests.phoenix.app import build

app = build().app
