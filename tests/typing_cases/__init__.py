"""Modules read by ``mypy --strict`` in ``tests/test_typing.py`` (never imported)."""
