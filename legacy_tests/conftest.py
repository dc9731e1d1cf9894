"""The 0.1 contract suite: every test here runs with DeprecationWarning ignored.

The suite uses the deprecated managed mode on purpose, and it runs in the same pytest
invocation as ``tests/``, where warnings are errors; so each test of this folder gets
``filterwarnings("ignore::DeprecationWarning")``.  The mark is put first, so a test's own
``filterwarnings`` mark (``test_warnings.py``) still overrides it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
IGNORE_DEPRECATIONS = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(IGNORE_DEPRECATIONS, append=False)
