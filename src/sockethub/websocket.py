"""The route classes under their 0.1 import path: ``from sockethub.websocket import ...``.

``WebSocketRoute`` here is :class:`sockethub.WebSocketRoute`.  This module only
re-exports; nothing in sockethub imports it but ``sockethub/__init__.py``.
"""

from __future__ import annotations

from .lowlevel import WebSocketEndpoint as WebSocketEndpoint
from .lowlevel import join_paths as join_paths
from .lowlevel import normalise_path as normalise_path

# isort: split
# The route as extended by the deprecated 0.1 managed mode.  0.3 deletes legacy.py,
# legacy_tests/ and these lines (from `isort: split` on), and imports WebSocketRoute from
# .lowlevel above instead; tests/test_facade_removal.py rehearses exactly that edit.
from .legacy import WebSocketRoute as WebSocketRoute
from .legacy import WSManagedEndpoint as WSManagedEndpoint
