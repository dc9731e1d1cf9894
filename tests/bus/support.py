"""Helpers shared by the bus test modules (import as ``tests.bus.support``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest


async def eventually(
    predicate: Callable[[], object], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout`` seconds.

    Delivery through Redis is asynchronous, so tests wait for the messages they expect.
    The deadline only bounds a broken run; it asserts nothing about speed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)
