"""The deprecated 0.1 managed mode of WebSocketRoute (removed in 0.3).

PLACEHOLDER: the facade is being written; for now a route has no managed mode.
"""

from __future__ import annotations

from typing import Any


class ManagedModeFacade:
    """Mixin giving WebSocketRoute the 0.1 managed-mode methods."""

    def _check_can_set_endpoint(self) -> None:
        return None

    def _managed_endpoint(self) -> Any:
        return None

    def _copy_managed_into(self, copy: Any) -> None:
        return None


class WSManagedEndpoint:
    """0.1's managed endpoint class."""
