"""The route classes under their 0.1 import path: ``from sockethub.websocket import ...``.

``WebSocketRoute`` here (and as :class:`sockethub.WebSocketRoute`) is the low-level route
of :mod:`sockethub.lowlevel`, extended until 0.3 by the deprecated 0.1 managed mode of
:mod:`sockethub.legacy`.  This module only re-exports; nothing in sockethub imports it
but ``sockethub/__init__.py``.
"""

from __future__ import annotations

from .lowlevel import WebSocketEndpoint as WebSocketEndpoint
from .lowlevel import join_paths as join_paths
from .lowlevel import normalise_path as normalise_path

# isort: split
# The deprecated 0.1 facade.  Removing it (0.3) deletes legacy.py and legacy_tests/ and
# replaces the next two lines with `from .lowlevel import WebSocketRoute as WebSocketRoute`;
# tests/test_facade_removal.py makes exactly that edit in a copy of the repository.
from .legacy import WebSocketRoute as WebSocketRoute
from .legacy import WSManagedEndpoint as WSManagedEndpoint
