"""A pytest plugin for the facade-removal rehearsal (``tests/test_facade_removal.py``).

It lists the tests outside ``legacy_tests/`` that still run the deprecated 0.1 facade,
each with the reason.  In the rehearsal, where the facade is gone, each listed test is an
expected failure (``xfail``, strict): it must fail there, with the exception type given,
so the list cannot hide an unrelated failure, and once a listed test no longer needs the
facade it passes, which fails the rehearsal until its entry is deleted.  A listed test
that is not collected is an error too.  The list's goal is to be empty.
"""

from __future__ import annotations

import pytest

#: node id (without parameters) -> (the exception it fails with, the reason)
STILL_NEED_THE_FACADE: dict[str, tuple[type[BaseException], str]] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seen = set()
    for item in items:
        base = item.nodeid.split("[", 1)[0]
        if base in STILL_NEED_THE_FACADE:
            raises, reason = STILL_NEED_THE_FACADE[base]
            item.add_marker(pytest.mark.xfail(raises=raises, reason=reason, strict=True))
            seen.add(base)
    missing = sorted(set(STILL_NEED_THE_FACADE) - seen)
    if missing:
        raise pytest.UsageError(f"listed as needing the facade but not collected: {missing}")
