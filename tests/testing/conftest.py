"""The kit's optional pytest fixture, as a user's conftest.py would enable it."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from sockethub.testing.fixtures import hub_client  # noqa: F401 (the fixture, registered here)
from tests.phoenix.app import build


@pytest.fixture
def hub_app() -> Starlette:
    return build().app
