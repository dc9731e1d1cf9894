"""The hardening app as an import string for a uvicorn child process (``served:app``)."""

from __future__ import annotations

from tests.hardening.app import build

app = build()[0]
