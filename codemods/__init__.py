"""sockethub's codemods: ``sockethub-migrate`` rewrites 0.1 managed-mode code into SocketHub."""

from __future__ import annotations

__all__ = ["__version__"]

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("sockethub")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.2.0"
