"""Wire protocols a hub connection can speak."""

from .base import Inbound, WireProtocol
from .envelope import EnvelopeProtocol

__all__ = ["EnvelopeProtocol", "Inbound", "WireProtocol"]
