"""Optional dependencies: one place that turns a missing one into the line to run.

Each feature that needs a package beyond Starlette is a pip extra (pyproject.toml's
``[project.optional-dependencies]``).  A module of such a feature imports its dependency
through this module, so that without it the import fails with an :class:`ImportError`
(precisely a :class:`ModuleNotFoundError`, ``name`` set to the missing module) whose
message ends with the command that fixes it, e.g. ``pip install "sockethub[redis]"``.

Two spellings, the same error:

* statically typed imports, for a module whose whole body needs the dependency::

      with extra_required("redis"):
          from redis.asyncio import Redis

* a module object, for a dependency looked up at run time::

      orjson = import_extra("orjson", extra="orjson")

Only a missing *top-level* package of the extra is translated; an import error raised
from inside an installed dependency propagates unchanged, since reinstalling would not
fix it.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

__all__ = ["EXTRAS", "extra_required", "import_extra", "install_hint"]

#: extra name -> (the top-level modules it provides, the distribution to name in messages)
EXTRAS: dict[str, tuple[frozenset[str], str]] = {
    "redis": (frozenset({"redis"}), "redis-py"),
    "codemod": (frozenset({"libcst"}), "libcst"),
    "fastapi": (frozenset({"fastapi"}), "FastAPI"),
    "orjson": (frozenset({"orjson"}), "orjson"),
    "client": (frozenset({"websockets"}), "websockets"),
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: ``pip install "sockethub[<extra>]"``."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown sockethub extra {extra!r}; known: {sorted(EXTRAS)}")
    return f'pip install "sockethub[{extra}]"'


@contextlib.contextmanager
def extra_required(extra: str, *, feature: str | None = None) -> Iterator[None]:
    """Run the imports in the ``with`` block; if one of ``extra``'s packages is missing,
    raise :class:`ModuleNotFoundError` saying what needs it and the command to install it.

    ``feature`` names what needs the extra in the message (default: ``sockethub[extra]``).
    """
    hint = install_hint(extra)  # validates the extra before anything is imported
    modules, distribution = EXTRAS[extra]
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in modules:
            raise
        who = feature or f"sockethub[{extra}]"
        raise ModuleNotFoundError(
            f"{who} needs {distribution}, which is not installed (no module named "
            f"{exc.name!r}). Install it with:\n    {hint}",
            name=exc.name,
        ) from exc


def import_extra(module: str, *, extra: str, feature: str | None = None) -> ModuleType:
    """Import and return ``module`` (a package of ``extra``), or raise the
    :class:`ModuleNotFoundError` of :func:`extra_required`."""
    with extra_required(extra, feature=feature):
        return importlib.import_module(module)
    raise AssertionError("unreachable")  # pragma: no cover  (mypy: the with may swallow)
