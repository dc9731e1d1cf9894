"""sockethub's codemods: ``sockethub-migrate`` rewrites 0.1 managed-mode code into SocketHub.

Importing this package does not need libcst; the codemod modules and running the CLI do.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["TODO_CONTINUATION", "TODO_MARKER", "__version__"]

#: Every comment the codemod writes starts with this; the CLI reports each one as file:line.
TODO_MARKER = "TODO(sockethub-migrate)"
#: How the following lines of a TODO comment wrapped at the file's line length start.
TODO_CONTINUATION = "#   "

try:
    __version__ = version("sockethub")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.2.0"
