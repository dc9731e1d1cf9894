"""Optional pytest fixtures for the test kit (the kit itself does not need pytest).

Enable them in your ``conftest.py`` with ``pytest_plugins = ["sockethub.testing.fixtures"]``
and define a ``hub_app`` fixture returning your ASGI app::

    @pytest.fixture
    def hub_app() -> Starlette:
        return create_app()

    def test_join(hub_client: HubClient) -> None:
        with hub_client.connect("/ws") as ws:
            assert ws.join("room:1") is None

``hub_client`` is a :class:`~sockethub.testing.HubClient` entered for the test (the
app's lifespan runs around it).  For ``async`` tests, use ``async with
AsyncHubClient(app)`` directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .sync import HubClient

__all__ = ["hub_client"]


@pytest.fixture
def hub_client(hub_app: Any) -> Iterator[HubClient]:
    """A :class:`HubClient` on the ``hub_app`` fixture's app, entered for one test."""
    with HubClient(hub_app) as client:
        yield client
