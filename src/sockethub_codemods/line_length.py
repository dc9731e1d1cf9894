"""The line length a file's own tooling enforces, for the comments the codemod writes.

Read as ruff and black resolve it: the nearest ``ruff.toml`` / ``.ruff.toml`` /
``pyproject.toml`` with a ``[tool.ruff]`` table, going up from the file's directory, gives
ruff's ``line-length`` (88 when that file leaves it unset, ruff's default); else the
nearest ``[tool.black]`` ``line-length``; else :data:`DEFAULT`. Never more than
:data:`MAXIMUM`.
"""

from __future__ import annotations

import functools
import os
import tomllib
from typing import Any

__all__ = ["DEFAULT", "MAXIMUM", "line_length_for"]

DEFAULT = 100
MAXIMUM = 100
_TOOL_DEFAULT = 88  # ruff's and black's own default


def line_length_for(path: str | None) -> int:
    """The line length for ``path`` (a file; None: the current directory)."""
    directory = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    return min(MAXIMUM, _for_directory(directory))


@functools.lru_cache(maxsize=256)
def _for_directory(directory: str) -> int:
    black: int | None = None
    current = directory
    while True:
        for name in ("ruff.toml", ".ruff.toml"):
            data = _read(os.path.join(current, name))
            if data is not None:
                return _length(data.get("line-length"), black)
        data = _read(os.path.join(current, "pyproject.toml"))
        if data is not None:
            tool = data.get("tool", {})
            if isinstance(tool, dict):
                if isinstance(tool.get("ruff"), dict):
                    return _length(tool["ruff"].get("line-length"), black)
                if black is None and isinstance(tool.get("black"), dict):
                    value = tool["black"].get("line-length", _TOOL_DEFAULT)
                    black = value if isinstance(value, int) else _TOOL_DEFAULT
        parent = os.path.dirname(current)
        if parent == current:
            return black if black is not None else DEFAULT
        current = parent


def _length(value: Any, black: int | None) -> int:
    if isinstance(value, int) and value > 0:
        return value
    return black if black is not None else _TOOL_DEFAULT


def _read(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fp:
            return tomllib.load(fp)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
